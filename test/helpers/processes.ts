export * from '../../harness/processes'; // moved to harness/processes.ts; this shim keeps older imports working
