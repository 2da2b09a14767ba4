import { createTestDatabase, ensureLocalServices } from '@closeloop/persistence';
import { formatRow, Scenario } from './harness';
import { conversions } from './conversions';
import { dripAdvance } from './drip-advance';
import { events } from './events';
import { importCustomers } from './import-customers';
import { listBuild } from './list-build';
import { plannerApi } from './planner-api';
import { sendEmail } from './send-email';
import { sendSms } from './send-sms';
import { trackOpen } from './track-open';
import { report } from './report';

const SCENARIOS: Scenario[] = [
  plannerApi,
  importCustomers,
  listBuild,
  sendEmail,
  sendSms,
  trackOpen,
  conversions,
  report,
  dripAdvance,
  events,
];

async function main(): Promise<void> {
  const name = process.argv[2];
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (!scenario) {
    process.stderr.write(`usage: npm run bench -- <scenario>\nscenarios:\n`);
    for (const s of SCENARIOS) process.stderr.write(`  ${s.name.padEnd(16)} ${s.description}\n`);
    process.exit(name ? 1 : 0);
  }
  const startedServices = await ensureLocalServices();
  // Each run gets its own freshly migrated database, so figures do not depend on earlier runs.
  const db = await createTestDatabase(process.env.DATABASE_URL);
  try {
    process.stdout.write(`${scenario.name}: ${scenario.description}\n`);
    const result = await scenario.run({
      databaseUrl: db.url,
      redisUrl: process.env.REDIS_URL!,
      log: (line) => process.stdout.write(`  ${line}\n`),
    });
    process.stdout.write('\nscenario | ours | baseline | ratio\n');
    process.stdout.write(`${formatRow(scenario.name, result)}\n`);
    if (result.ours.detail) process.stdout.write(`  ours: ${result.ours.detail}\n`);
  } finally {
    await db.drop();
    if (startedServices) process.stdout.write('(local services left running: `npm run services -- down` stops them)\n');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
