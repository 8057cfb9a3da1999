export * from '../../harness/test-clients'; // moved to harness/test-clients.ts; this shim keeps older imports working
