// Records the fuzz corpus (test/fuzz/corpus/guest-to-host.bin.gz) from real clients: node dist/test/fuzz/record-corpus.js
import { startWeston } from '../../harness/compositors';
import { buildTestClients } from '../../harness/test-clients';
import { CORPUS_FILE, corpusFromStream, recordStream, saveCorpus } from './corpus';

async function main(): Promise<void> {
  const clients = await buildTestClients();
  const weston = await startWeston();
  try {
    const stream = await recordStream(weston.socketPath, clients);
    const corpus = corpusFromStream(stream);
    saveCorpus(stream);
    process.stdout.write(`${CORPUS_FILE}: ${stream.byteLength} bytes, ${corpus.sessions.length} sessions, ${corpus.frames.length} frames\n`);
  } finally {
    await weston.stop();
  }
}

main().then(() => process.exit(0), (e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
