// The real apps real-apps.ts runs: how to start each one and what to do with its window (menus, popups, resizes).
import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SwayNode } from './real-apps-desk';

/** What an app's steps can do with its window while it runs. */
export interface WindowActions {
  readonly window: SwayNode;
  /** A screenshot named after the app, the run (pair or direct) and `what`. */
  shot(what: string): Promise<void>;
  /** wtype arguments: keys go to the focused window (the app's). */
  keys(...args: string[]): Promise<void>;
  /** A sway command on the app's window, e.g. 'floating enable, resize set 640 480'. */
  sway(command: string): Promise<void>;
  /**
   * Moves the pointer to a point of the window's content (fractions of its size plus pixels) and presses `button`
   * (1 left, 3 right) without releasing it.
   */
  press(button: 1 | 3, at: Spot): Promise<void>;
  release(button: 1 | 3): Promise<void>;
  pause(ms: number): Promise<void>;
}

/** A point in a window's content: fx, fy fractions of its size, then dx, dy pixels. */
export interface Spot {
  fx: number;
  fy: number;
  dx?: number;
  dy?: number;
}

export interface Launch {
  command: string;
  args: string[];
  env: Record<string, string>;
}

export interface AppSpec {
  /** The name --apps takes. */
  key: string;
  /** What it is, for the table. */
  label: string;
  /** Debian packages it needs. */
  packages: string[];
  /** Seconds to wait for its window. */
  mapSeconds: number;
  /** False when closing its window does not end it (rootful Xwayland): then SIGTERM is its normal end. */
  exitsOnClose?: boolean;
  /** `home` is a fresh dir owned by the user the app runs as (for profiles and files). */
  launch(home: string, user: { uid: number; gid: number }): Launch;
  exercise(w: WindowActions): Promise<void>;
}

const TEXT = 'wayvio real-apps: this text is here so that menus have something to act on.\nsecond line\n';

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>wayvio real-apps page</title></head>
<body style="font: 20px sans-serif; background: #fed">
<h1>wayvio real-apps page</h1>
<p>A local page: nothing is fetched from the network.</p>
<select id="pick" style="position: absolute; left: 0; top: 0; width: 50%; height: 200px; font-size: 30px">
<option>first</option><option>second</option><option>third</option></select>
<p><input value="a text field" style="font-size: 20px"></p>
</body></html>
`;

function writeOwned(path: string, text: string, user: { uid: number; gid: number }): string {
  writeFileSync(path, text);
  chownSync(path, user.uid, user.gid);
  return path;
}

/** Quiet toolkits: no accessibility or session bus lookups that wait for timeouts. */
const QUIET = { NO_AT_BRIDGE: '1', GTK_A11Y: 'none', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent', SHELL: '/bin/sh' };

/** Opens a menu with keys, shows it, closes it with Escape. */
async function keyMenu(w: WindowActions, name: string, ...keys: string[]): Promise<void> {
  await w.keys(...keys);
  await w.pause(1200);
  await w.shot(name);
  await w.keys('-k', 'Escape');
  await w.pause(400);
}

/**
 * Opens a menu with a button press, shows it while the button is held and again after the release (toolkits differ
 * in what a quick release over the menu does), then Escape.
 */
async function pointerMenu(w: WindowActions, name: string, button: 1 | 3, at: Spot): Promise<void> {
  await w.press(button, at);
  await w.pause(1200);
  await w.shot(name);
  await w.release(button);
  await w.pause(800);
  await w.shot(`${name}-released`);
  await w.keys('-k', 'Escape');
  await w.pause(400);
}

async function resize(w: WindowActions): Promise<void> {
  await w.sway('floating enable, resize set 700 500, move position 40 40');
  await w.pause(1200);
  await w.shot('resized');
  await w.sway('floating disable');
  await w.pause(600);
}

const FIREFOX_PREFS = [
  'browser.shell.checkDefaultBrowser', 'false',
  'browser.aboutwelcome.enabled', 'false',
  'browser.startup.homepage_override.mstone', '"ignore"',
  'datareporting.policy.dataSubmissionEnabled', 'false',
  'toolkit.telemetry.reportingpolicy.firstRun', 'false',
  'app.update.enabled', 'false',
  'browser.tabs.warnOnClose', 'false',
  'network.captive-portal-service.enabled', 'false',
  'extensions.update.enabled', 'false',
];

function firefoxProfile(home: string, user: { uid: number; gid: number }): string {
  const profile = join(home, 'profile');
  mkdirSync(profile);
  chownSync(profile, user.uid, user.gid);
  const lines: string[] = [];
  for (let i = 0; i < FIREFOX_PREFS.length; i += 2) lines.push(`user_pref("${FIREFOX_PREFS[i]}", ${FIREFOX_PREFS[i + 1]});`);
  writeOwned(join(profile, 'user.js'), lines.join('\n') + '\n', user);
  return profile;
}

/** The page's <select> fills the top left of the page (below the browser's toolbars, about 90 px). */
async function browserSteps(w: WindowActions): Promise<void> {
  await pointerMenu(w, 'context-menu', 3, { fx: 0.5, fy: 0.8 });
  await pointerMenu(w, 'select', 1, { fx: 0.2, fy: 0, dy: 190 });
  await resize(w);
}

/** The first free X display number from 5 on (no socket, no lock file). */
export function freeXDisplay(): number {
  for (let n = 5; n < 100; n++) if (!existsSync(`/tmp/.X11-unix/X${n}`) && !existsSync(`/tmp/.X${n}-lock`)) return n;
  throw new Error('no free X display number between :5 and :99');
}

export const APPS: readonly AppSpec[] = [
  {
    key: 'gtk3',
    label: 'mousepad 0.5 (GTK3, menu bar, no header bar)',
    packages: ['mousepad'],
    mapSeconds: 20,
    launch: (home, user) => ({
      command: 'mousepad',
      args: [writeOwned(join(home, 'notes.txt'), TEXT, user)],
      env: { ...QUIET, GDK_BACKEND: 'wayland' },
    }),
    exercise: async (w) => {
      await keyMenu(w, 'menu-bar', '-k', 'F10');
      await pointerMenu(w, 'context-menu', 3, { fx: 0.5, fy: 0.5 });
      await resize(w);
    },
  },
  {
    key: 'gtk3-demo',
    label: 'gtk3-demo (GTK3, header bar)',
    packages: ['gtk-3-examples'],
    mapSeconds: 20,
    launch: () => ({ command: 'gtk3-demo', args: [], env: { ...QUIET, GDK_BACKEND: 'wayland' } }),
    exercise: async (w) => {
      await pointerMenu(w, 'context-menu', 3, { fx: 0.75, fy: 0.5 });
      await resize(w);
    },
  },
  {
    key: 'gtk4',
    label: 'gtk4-demo (GTK4, header bar, popovers)',
    packages: ['gtk-4-examples'],
    mapSeconds: 20,
    launch: () => ({ command: 'gtk4-demo', args: [], env: { ...QUIET, GDK_BACKEND: 'wayland', GSK_RENDERER: 'cairo' } }),
    exercise: async (w) => {
      await pointerMenu(w, 'primary-menu', 1, { fx: 1, fy: 0, dx: -73, dy: 23 }); // the ☰ button of its header bar
      await pointerMenu(w, 'context-menu', 3, { fx: 0.75, fy: 0.5 });
      await resize(w);
    },
  },
  {
    key: 'qt',
    label: 'featherpad 1.3 (Qt 5, qtwayland5)',
    packages: ['featherpad', 'qtwayland5'],
    mapSeconds: 20,
    launch: (home, user) => ({
      command: 'featherpad',
      args: [writeOwned(join(home, 'notes.txt'), TEXT, user)],
      env: { ...QUIET, QT_QPA_PLATFORM: 'wayland' },
    }),
    exercise: async (w) => {
      await pointerMenu(w, 'menu-bar', 1, { fx: 0, fy: 0, dx: 22, dy: 9 }); // "File", Qt draws no title bar
      await pointerMenu(w, 'context-menu', 3, { fx: 0.5, fy: 0.5 });
      await resize(w);
    },
  },
  {
    key: 'firefox',
    label: 'firefox-esr (GTK3, software WebRender)',
    packages: ['firefox-esr'],
    mapSeconds: 40,
    launch: (home, user) => ({
      command: 'firefox-esr',
      args: ['-no-remote', '-profile', firefoxProfile(home, user), `file://${writeOwned(join(home, 'page.html'), PAGE, user)}`],
      env: { ...QUIET, MOZ_ENABLE_WAYLAND: '1', GDK_BACKEND: 'wayland' },
    }),
    exercise: browserSteps,
  },
  {
    key: 'chromium',
    label: 'chromium (Ozone Wayland, no GPU)',
    packages: ['chromium'],
    mapSeconds: 40,
    launch: (home, user) => ({
      command: 'chromium',
      args: [
        '--ozone-platform=wayland', '--no-sandbox', '--disable-gpu', `--user-data-dir=${join(home, 'chromium')}`, '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync', '--password-store=basic',
        `file://${writeOwned(join(home, 'page.html'), PAGE, user)}`,
      ],
      env: { ...QUIET },
    }),
    exercise: browserSteps,
  },
  {
    key: 'mpv',
    label: 'mpv 0.35 (--vo=wlshm, lavfi test source)',
    packages: ['mpv'],
    mapSeconds: 20,
    launch: () => ({
      command: 'mpv',
      args: ['--no-config', '--vo=wlshm', '--ao=null', '--length=60', 'av://lavfi:testsrc=size=640x480:rate=30'],
      env: { ...QUIET },
    }),
    exercise: async (w) => {
      await w.sway('fullscreen enable');
      await w.pause(1500);
      await w.shot('fullscreen');
      await w.sway('fullscreen disable');
      await w.pause(500);
      await resize(w);
    },
  },
  {
    key: 'foot',
    label: 'foot 1.13 (terminal)',
    packages: ['foot'],
    mapSeconds: 20,
    launch: () => ({ command: 'foot', args: ['/bin/sh'], env: { ...QUIET } }),
    exercise: async (w) => {
      await w.keys('echo typed through the pair; ls /', '-k', 'Return');
      await w.pause(800);
      await w.shot('typed');
      await resize(w);
    },
  },
  {
    key: 'xwayland',
    label: 'Xwayland 22.1 rootful + xterm and xeyes',
    packages: ['xwayland', 'xterm', 'x11-apps'],
    mapSeconds: 20,
    exitsOnClose: false,
    launch: () => {
      const n = freeXDisplay();
      // Xwayland rootful (its whole screen is one xdg_toplevel) on the Wayland socket; X clients inside it
      const script = [
        `Xwayland :${n} -nolisten tcp & x=$!`,
        `i=0; while [ ! -S /tmp/.X11-unix/X${n} ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done`,
        `DISPLAY=:${n} xterm -geometry 80x20+10+10 -e /bin/sh & DISPLAY=:${n} xeyes -geometry 200x200+600+10 &`,
        'wait $x',
      ].join('\n');
      return { command: '/bin/sh', args: ['-c', script], env: { ...QUIET } };
    },
    exercise: async (w) => {
      await w.press(1, { fx: 0.2, fy: 0.2 }); // X focus follows the pointer into xterm
      await w.release(1);
      await w.keys('echo typed into xterm through Xwayland', '-k', 'Return');
      await w.pause(800);
      await w.shot('typed');
      await resize(w);
    },
  },
];
