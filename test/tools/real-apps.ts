// Runs real apps (GTK3, GTK4, Qt, Firefox, Chromium, mpv, foot, Xwayland) through the proxy pair on headless sway,
// and each again directly on sway, and prints per app: window seen, title, seconds to map, host refusals.
// Usage (as root; sway and the apps run as the user wayvio-test):
//   node dist/test/tools/real-apps.js [--apps gtk3,gtk3-demo,gtk4,qt,firefox,chromium,mpv,foot,xwayland] [--no-direct]
//                                     [--out DIR] [--json FILE] [--host-args "ARGS"]
// A tool, not a test: the apps are hundreds of MiB of Debian packages (see docs/real-apps.md).
import { existsSync, mkdirSync, chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../harness/processes';
import { APPS, type AppSpec, type WindowActions } from './real-apps-apps';
import { baseEnv, logSince, spawnLogged, startDesk, views, type Desk, type SwayNode } from './real-apps-desk';

type Mode = 'pair' | 'direct';

export interface AppRun {
  app: string;
  mode: Mode;
  windowSeen: boolean;
  title: string;
  appId: string;
  /** Seconds from start to the window in sway's tree. */
  secondsToMap: number | null;
  /** The window's client pid in sway is the host proxy's (it really went through the pair). */
  viaHostProxy: boolean;
  /** The window was still there after the menus, popups and resizes. */
  survivedSteps: boolean;
  /** What went wrong while driving it (a step that threw, a window gone). */
  stepProblems: string[];
  exit: string;
  /** Host proxy lines: refusals ("guest protocol violation", "limit reached"). */
  refusals: string[];
  /** Host proxy lines: compositor errors and internal errors. */
  otherHostErrors: string[];
  /** Lines of the app's own output that look like Wayland or protocol errors. */
  appErrors: string[];
  /** Sway, host or guest proxy gone after this app. */
  deaths: string[];
  screenshots: string[];
  log: string;
}

const WAYLAND_ERROR = /protocol error|error \d+ \(|wl_display|wl_[a-z_]+[@#]\d+|xdg_[a-z_]+[@#]\d+|wayland.{0,40}(error|fail|broken|lost)|(error|fail|lost|broken).{0,40}wayland|compositor.{0,20}(disconnect|gone)|connection to .{0,30}(lost|broken|closed)/i;

interface Options {
  apps: AppSpec[];
  direct: boolean;
  out: string;
  json?: string;
  hostArgs: string[];
}

const USAGE = `usage: node dist/test/tools/real-apps.js [--apps ${APPS.map((x) => x.key).join(',')}] [--no-direct] [--out DIR]
       [--json FILE] [--host-args "ARGS"]   (extra arguments for wayvio host, split at spaces)`;

function parseArgs(argv: string[]): Options {
  let keys = APPS.map((a) => a.key);
  let direct = true;
  let out = join('/tmp', `wayvio-real-apps-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  let json: string | undefined;
  let hostArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--apps') keys = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--no-direct') direct = false;
    else if (a === '--out') out = argv[++i] ?? out;
    else if (a === '--json') json = argv[++i];
    else if (a === '--host-args') hostArgs = (argv[++i] ?? '').split(' ').filter(Boolean);
    else {
      process.stderr.write(`real-apps: unknown argument ${a}\n${USAGE}\n`);
      process.exit(2);
    }
  }
  const apps = keys.map((k) => {
    const spec = APPS.find((a) => a.key === k);
    if (spec === undefined) {
      process.stderr.write(`real-apps: no app '${k}'; known: ${APPS.map((a) => a.key).join(', ')}\n`);
      process.exit(2);
    }
    return spec;
  });
  return { apps, direct, out, json, hostArgs };
}

function findView(tree: SwayNode, known: Set<number>): SwayNode | undefined {
  return views(tree).find((v) => !known.has(v.id));
}

async function viewById(desk: Desk, id: number): Promise<SwayNode | undefined> {
  return views(await desk.tree()).find((v) => v.id === id);
}

function actionsFor(desk: Desk, app: AppSpec, mode: Mode, window: SwayNode, shots: string[]): WindowActions {
  return {
    window,
    shot: async (what) => {
      shots.push(await desk.screenshot(`${app.key}-${mode}-${what}`));
    },
    keys: (...args) => desk.type(args),
    sway: async (command) => {
      const out = await desk.swaymsg(`[con_id=${window.id}]`, command);
      if (/"success": false|error/i.test(out)) throw new Error(`swaymsg ${command}: ${out.trim()}`);
    },
    press: async (button, at) => {
      const now = (await viewById(desk, window.id)) ?? window;
      await desk.pointer.moveTo(now.rect.x + now.rect.width * at.fx + (at.dx ?? 0), now.rect.y + now.rect.height * at.fy + (at.dy ?? 0));
      await sleep(150);
      await desk.pointer.button(button, true);
    },
    release: (button) => desk.pointer.button(button, false),
    pause: sleep,
  };
}

async function runApp(desk: Desk, app: AppSpec, mode: Mode): Promise<AppRun> {
  const hostStart = logSince(desk.host.logFile, Number.MAX_SAFE_INTEGER).offset;
  const home = desk.userDir(`${app.key}-${mode}`);
  const launch = app.launch(home, desk.user);
  const display = mode === 'pair' ? desk.guestEnv : desk.swayEnv;
  const env = { ...baseEnv(home, display.XDG_RUNTIME_DIR), ...launch.env, WAYLAND_DISPLAY: display.WAYLAND_DISPLAY };
  const known = new Set(views(await desk.tree()).map((v) => v.id));
  const logFile = join(desk.outDir, `${app.key}-${mode}.log`);
  const started = Date.now();
  const proc = spawnLogged(launch.command, launch.args, env, logFile, desk.user, home);
  const run: AppRun = {
    app: app.key, mode, windowSeen: false, title: '', appId: '', secondsToMap: null, viaHostProxy: false, survivedSteps: false,
    stepProblems: [], exit: '', refusals: [], otherHostErrors: [], appErrors: [], deaths: [], screenshots: [], log: logFile,
  };
  let view: SwayNode | undefined;
  while (Date.now() - started < app.mapSeconds * 1000 && proc.exitStatus() === undefined) {
    view = findView(await desk.tree(), known);
    if (view !== undefined) break;
    await sleep(200);
  }
  if (view !== undefined) {
    run.windowSeen = true;
    run.secondsToMap = (Date.now() - started) / 1000;
    run.viaHostProxy = view.pid === desk.host.pid;
    await sleep(2000); // first frames, title
    view = (await viewById(desk, view.id)) ?? view;
    run.title = view.name ?? '';
    run.appId = view.app_id ?? view.window_properties?.class ?? '';
    const actions = actionsFor(desk, app, mode, view, run.screenshots);
    await actions.shot('window');
    try {
      await app.exercise(actions);
    } catch (err) {
      run.stepProblems.push((err as Error).message.split('\n')[0]);
    }
    run.survivedSteps = (await viewById(desk, view.id)) !== undefined && proc.exitStatus() === undefined;
    if (!run.survivedSteps) run.stepProblems.push(`window gone after the steps (app exit: ${proc.exitStatus() ?? 'still running'})`);
    await desk.swaymsg(`[con_id=${view.id}]`, 'kill').catch(() => undefined);
    const closed = await Promise.race([proc.exited.then(() => true), sleep(8000).then(() => false)]);
    if (!closed && app.exitsOnClose !== false) run.stepProblems.push('still running 8 s after its window was closed');
  } else if (proc.exitStatus() === undefined) {
    await desk.screenshot(`${app.key}-${mode}-no-window`).then((s) => run.screenshots.push(s));
  }
  const wasRunning = proc.exitStatus() === undefined;
  await proc.stop(3000);
  run.exit = wasRunning ? `stopped by us (${proc.exitStatus()})` : String(proc.exitStatus());
  // the host's lines for this client may trail its disconnect a little
  await sleep(300);
  const hostText = logSince(desk.host.logFile, hostStart).text;
  const hostLines = hostText.split('\n');
  run.refusals = hostLines.filter((l) => /guest protocol violation|limit reached/.test(l));
  run.otherHostErrors = hostLines.filter((l) => /compositor error|internal error/.test(l));
  run.appErrors = logSince(logFile, 0).text.split('\n').filter((l) => WAYLAND_ERROR.test(l)).slice(0, 5);
  run.deaths = desk.deaths();
  return run;
}

/** A log line without its numbers (pids, times, addresses), to compare the pair's run with the direct one. */
function shape(line: string): string {
  return line.replace(/0x[0-9a-f]+|\d+/gi, '#').trim();
}

/** The app's error lines through the pair that its direct run did not print too. */
function onlyThroughPair(pair: AppRun, direct: AppRun | undefined): string[] {
  const seen = new Set((direct?.appErrors ?? []).map(shape));
  return pair.appErrors.filter((l) => !seen.has(shape(l)));
}

function cell(run: AppRun | undefined): string {
  if (run === undefined) return '-';
  return run.windowSeen ? `yes ${run.secondsToMap?.toFixed(1)}s` : 'NO';
}

function line(pair: AppRun, direct: AppRun | undefined): string {
  const refusals = pair.refusals.length === 0 ? '0' : `${pair.refusals.length}: ${pair.refusals[0].replace(/^.*?(guest protocol|limit reached)/, '$1').slice(0, 160)}`;
  const problems = [...pair.stepProblems, ...pair.otherHostErrors.slice(0, 1), ...onlyThroughPair(pair, direct).slice(0, 1), ...pair.deaths].join('; ');
  return [
    pair.app.padEnd(10),
    `window ${cell(pair)}`.padEnd(16),
    `via host ${pair.viaHostProxy ? 'yes' : 'no'}`.padEnd(13),
    `"${pair.title.slice(0, 40)}"`.padEnd(43),
    `exit ${pair.exit}`.padEnd(12),
    `refusals ${refusals}`,
    direct === undefined ? '' : `| direct: window ${cell(direct)} exit ${direct.exit}${direct.stepProblems.length > 0 ? ` (${direct.stepProblems.join('; ')})` : ''}`,
    problems === '' ? '' : `| problems: ${problems}`,
  ].join(' ');
}

async function main(): Promise<void> {
  const { apps, direct, out, json, hostArgs } = parseArgs(process.argv.slice(2));
  if (!existsSync('/tmp/.X11-unix')) {
    mkdirSync('/tmp/.X11-unix');
    chmodSync('/tmp/.X11-unix', 0o1777);
  }
  const desk = await startDesk({ width: 1280, height: 800, outDir: out, hostArgs });
  process.stdout.write(`real-apps: logs and screenshots in ${out}\n`);
  const results: AppRun[] = [];
  try {
    for (const app of apps) {
      const pair = await runApp(desk, app, 'pair');
      results.push(pair);
      const straight = direct ? await runApp(desk, app, 'direct') : undefined;
      if (straight) results.push(straight);
      process.stdout.write(line(pair, straight) + '\n');
      if (desk.deaths().length > 0) {
        process.stdout.write(`real-apps: stopping, ${desk.deaths().join(', ')}\n`);
        break;
      }
    }
  } finally {
    await desk.stop();
  }
  if (json !== undefined) writeFileSync(json, JSON.stringify(results, null, 2));
  writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 2));
  const hidden = new Set(logSince(join(out, 'host.log'), 0).text.split('\n').flatMap((l) => /global (\S+) v\d+ hidden: (.*)/.exec(l)?.slice(1, 3).join(' (') ?? []));
  if (hidden.size > 0) process.stdout.write(`real-apps: globals the host hid from the apps: ${[...hidden].map((h) => `${h})`).join(', ')}\n`);
  const failed = results.filter((r) => r.mode === 'pair' && (!r.windowSeen || r.refusals.length > 0));
  process.stdout.write(`real-apps: ${results.filter((r) => r.mode === 'pair').length - failed.length} of ${apps.length} apps mapped through the pair without refusals\n`);
  process.exitCode = failed.length > 0 ? 1 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`real-apps: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
