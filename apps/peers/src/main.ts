import { mkdirSync } from 'node:fs';
import { SmscSimulator } from './smsc-simulator';
import { SmtpSink } from './smtp-sink';

/**
 * The development peers as one process (`npm run services -- up` starts it): an SMTP sink that
 * keeps every message as an .eml file, and an SMSC simulator that answers with delivery receipts.
 * Ports, folder and address from SMTP_SINK_PORT, SMSC_PORT, SINK_DIR and PEERS_HOST.
 */
async function main(): Promise<void> {
  const dir = process.env.SINK_DIR;
  if (dir) mkdirSync(dir, { recursive: true });
  const sink = new SmtpSink({ dir });
  const smsc = new SmscSimulator();
  // Loopback unless told otherwise (PEERS_HOST=0.0.0.0 in a container, for the other containers).
  const host = process.env.PEERS_HOST ?? '127.0.0.1';
  const smtp = await sink.start(Number(process.env.SMTP_SINK_PORT ?? 0), host);
  const smpp = await smsc.start(Number(process.env.SMSC_PORT ?? 0), host);
  process.stdout.write(`SMTP_URL=${smtp.url}\nSMPP_URL=${smpp.url}\n`);
  const stop = async () => {
    await Promise.allSettled([sink.stop(), smsc.stop()]);
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`peers: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
