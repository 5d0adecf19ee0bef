/**
 * `sipwright start` (what `npm start` runs): start the embedded reference PBX and reference
 * carrier, built from the personas, run the pbx/ and carrier/ conformance suites against them,
 * and write one JUnit and one JSON report. `--fault NAME` breaks a reference system on
 * purpose (`pbx:drop-bye`, `carrier:no-407`, or a bare name for whichever system has it): the
 * run must then fail, and the report names the tests that caught the fault.
 */
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import { FAULTS as CARRIER_FAULTS, ReferenceCarrier, referenceCarrierOptions, type Fault as CarrierFault } from '../roles/reference-carrier.js';
import { FAULTS as PBX_FAULTS, type Fault as PbxFault } from '../roles/reference-pbx-options.js';
import { referencePbxOptions } from '../roles/reference-pbx-profile.js';
import { ReferencePbx } from '../roles/reference-pbx.js';
import { loadProfile } from '../scenario/profile.js';
import { executePlan, planRun } from './run.js';

/** Options of `sipwright start`. */
export interface StartCommandOptions {
  fault: string[];
  junit: string;
  json: string;
  /** Run only one suite (default both). */
  suite?: 'pbx' | 'carrier';
  /** Run only the scenarios with this tag (e.g. `catches:drop-bye`). */
  tag?: string;
}

/** The package root: scenarios/ and sut/ ship with it, wherever sipwright is run from. */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Every fault `--fault` accepts, as `system:name`. The PBX's `no-unregister` shows only when the
 * PBX stops, which no suite makes it do: it is left out here (test/roles covers it).
 */
export const ALL_FAULTS: readonly string[] = [
  ...PBX_FAULTS.filter((f) => f !== 'no-unregister').map((f) => `pbx:${f}`),
  ...CARRIER_FAULTS.map((f) => `carrier:${f}`),
];

/** Split `--fault` values between the two systems; unknown names are a usage error. */
export function splitFaults(names: string[]): { pbx: PbxFault[]; carrier: CarrierFault[] } {
  const pbx = new Set<PbxFault>();
  const carrier = new Set<CarrierFault>();
  for (const given of names) {
    const [system, name] = given.includes(':') ? (given.split(':', 2) as [string, string]) : ['', given];
    const inPbx = ALL_FAULTS.includes(`pbx:${name}`) && (system === '' || system === 'pbx');
    const inCarrier = ALL_FAULTS.includes(`carrier:${name}`) && (system === '' || system === 'carrier');
    if (!inPbx && !inCarrier) throw new UsageError(`--fault ${given}: unknown fault, expected one of ${ALL_FAULTS.join(', ')}`);
    if (inPbx) pbx.add(name as PbxFault);
    if (inCarrier) carrier.add(name as CarrierFault);
  }
  return { pbx: [...pbx], carrier: [...carrier] };
}

export async function startCommand(opts: StartCommandOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const faults = splitFaults(opts.fault);
  const rel = (p: string): string => relative(process.cwd(), join(ROOT, p)) || '.';
  const pbxProfile = rel('sut/reference/pbx-profile.yaml');
  const carrierProfile = rel('sut/reference/carrier-profile.yaml');
  const suites = opts.suite ? [opts.suite] : (['pbx', 'carrier'] as const);

  const plan = [];
  for (const suite of suites) {
    const profile = suite === 'pbx' ? pbxProfile : carrierProfile;
    const tests = await planRun({ paths: [rel(`scenarios/${suite}`)], profile, var: [], junit: opts.junit, json: opts.json, concurrency: 4 });
    plan.push(...tests.filter((t) => opts.tag === undefined || t.scenario.tags.includes(opts.tag)));
  }
  if (plan.length === 0) throw new UsageError(`no scenario of ${suites.join(' and ')} has the tag ${opts.tag}`);

  const pbx = suites.includes('pbx') ? await startPbx(pbxProfile, faults.pbx) : undefined;
  const carrier = suites.includes('carrier') ? await startCarrier(carrierProfile, faults.carrier) : undefined;
  const broken = [...faults.pbx.map((f) => `pbx:${f}`), ...faults.carrier.map((f) => `carrier:${f}`)];
  out.write(
    `sipwright: reference ${[pbx && `PBX on udp ${pbx.address.host}:${pbx.address.port}`, carrier && `carrier on udp ${carrier.address.host}:${carrier.address.port}`].filter(Boolean).join(' and ')}` +
      `${broken.length ? ` with fault ${broken.join(', ')}` : ''}\n`,
  );
  try {
    return await executePlan(plan, { out, junit: opts.junit, json: opts.json, concurrency: 4 });
  } finally {
    await Promise.allSettled([pbx?.stop(), carrier?.stop()]);
  }
}

async function startPbx(profileFile: string, faults: PbxFault[]): Promise<ReferencePbx> {
  const { profile } = loadProfile(profileFile);
  if (profile.role !== 'pbx') throw new UsageError(`${profileFile}: expected role: pbx`);
  const options = referencePbxOptions(profile, faults);
  // The suite's carrier exists only while a test runs: retry the trunk registration quickly.
  return ReferencePbx.start({ ...options, trunk: { ...options.trunk, retryS: 2 } });
}

async function startCarrier(profileFile: string, faults: CarrierFault[]): Promise<ReferenceCarrier> {
  const { profile } = loadProfile(profileFile);
  if (profile.role !== 'carrier') throw new UsageError(`${profileFile}: expected role: carrier`);
  return ReferenceCarrier.start(referenceCarrierOptions(profile, faults));
}
