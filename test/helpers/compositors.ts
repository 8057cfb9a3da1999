export * from '../../harness/compositors'; // moved to harness/compositors.ts; this shim keeps older imports working
