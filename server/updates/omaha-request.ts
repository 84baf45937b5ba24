// An Omaha 3.0 request as Flatcar's update_engine builds it (src/update_engine/
// omaha_request_action.cc GetRequestXml/GetAppXml/GetAppBody; go-omaha omaha/protocol.go
// AppRequest): `<request protocol="3.0">` holding `<os>` and one `<app>` with `<ping>`,
// `<updatecheck>` and/or `<event>`s. Parsed once here into checked values; unknown elements
// and attributes are ignored, as update_engine's own parser does with responses.
import { InvalidRequestError } from '../errors.ts';
import { parseXml, type XmlElement } from './omaha-xml.ts';

export const FLATCAR_APP_ID = '{e96281a6-d1af-4bde-9a0a-97b76e56dc57}';

export interface OmahaEvent {
  type: number;
  result: number;
  /** A signed 32-bit action code; high bits are flags (omaha_request_action / action_processor.h). */
  errorCode: number | undefined;
  previousVersion: string | undefined;
}

export interface OmahaApp {
  /** Lower-case, with braces, as update_engine sends it. */
  appId: string;
  version: string;
  track: string;
  board: string;
  /** 32 lower-case hex digits (`/etc/machine-id`), or undefined when missing or malformed. */
  machineId: string | undefined;
  bootId: string;
  oem: string;
  oemVersion: string;
  alephVersion: string;
  ping: boolean;
  updateCheck: boolean;
  events: OmahaEvent[];
}

export interface OmahaRequest {
  /** The client: `update_engine-0.4.10`; Nebraska's syncer sends `CoreOSUpdateEngine-0.1.0.0`. */
  updater: string;
  installSource: string;
  os: { platform: string; version: string; sp: string; arch: string };
  apps: OmahaApp[];
}

const MAX_APPS = 4;
const MAX_EVENTS = 16;
/** Values we keep and show: printable, no markup or shell syntax. */
const SAFE = /^[A-Za-z0-9 ._:+,@/{}()=-]*$/;

export function parseOmahaRequest(body: Uint8Array): OmahaRequest {
  const root = parseXml(body);
  if (root.name !== 'request') bad(`root element is <${root.name}>, expected <request>`);
  const protocol = root.attrs['protocol'];
  if (protocol !== '3.0') bad(`protocol ${JSON.stringify(protocol ?? '')} not supported (only 3.0)`);
  const apps = root.children.filter((e) => e.name === 'app');
  if (apps.length === 0) bad('no <app> element');
  if (apps.length > MAX_APPS) bad(`more than ${MAX_APPS} <app> elements`);
  const os = root.children.find((e) => e.name === 'os');
  return {
    updater: attr(root, 'version', 64),
    installSource: attr(root, 'installsource', 32),
    os: {
      platform: os ? attr(os, 'platform', 64) : '',
      version: os ? attr(os, 'version', 64) : '',
      sp: os ? attr(os, 'sp', 64) : '',
      arch: os ? attr(os, 'arch', 32) : '',
    },
    apps: apps.map(parseApp),
  };
}

function parseApp(app: XmlElement): OmahaApp {
  const appId = attr(app, 'appid', 64).toLowerCase();
  if (!appId) bad('<app> without appid');
  const events = app.children.filter((e) => e.name === 'event');
  if (events.length > MAX_EVENTS) bad(`more than ${MAX_EVENTS} <event> elements in one <app>`);
  return {
    appId,
    version: attr(app, 'version', 64),
    track: attr(app, 'track', 64),
    board: attr(app, 'board', 64),
    machineId: machineId(attr(app, 'machineid', 64)),
    bootId: attr(app, 'bootid', 64),
    oem: attr(app, 'oem', 64),
    oemVersion: attr(app, 'oemversion', 64),
    alephVersion: attr(app, 'alephversion', 64),
    ping: app.children.some((e) => e.name === 'ping'),
    updateCheck: app.children.some((e) => e.name === 'updatecheck'),
    events: events.map(parseEvent),
  };
}

function parseEvent(e: XmlElement): OmahaEvent {
  const previous = attr(e, 'previousversion', 64);
  const code = e.attrs['errorcode'];
  return {
    type: int(e, 'eventtype', 0, 1000),
    result: int(e, 'eventresult', 0, 1000),
    errorCode: code === undefined ? undefined : int(e, 'errorcode', -(2 ** 31), 2 ** 32 - 1),
    previousVersion: previous === '' ? undefined : previous,
  };
}

/** `/etc/machine-id` is 32 hex digits; go-omaha's fixtures use a braced GUID. Both map to 32 hex. */
function machineId(raw: string): string | undefined {
  const hex = raw.replace(/[{}-]/g, '').toLowerCase();
  return /^[0-9a-f]{32}$/.test(hex) ? hex : undefined;
}

function attr(e: XmlElement, name: string, max: number): string {
  const value = (e.attrs[name] ?? '').trim();
  if (value.length > max) bad(`<${e.name} ${name}> longer than ${max} characters`);
  if (!SAFE.test(value)) bad(`<${e.name} ${name}=${JSON.stringify(value)}>: unexpected characters`);
  return value;
}

function int(e: XmlElement, name: string, min: number, max: number): number {
  const raw = e.attrs[name];
  if (raw === undefined || !/^-?\d{1,10}$/.test(raw.trim())) bad(`<${e.name} ${name}> must be an integer`);
  const n = Number(raw);
  if (n < min || n > max) bad(`<${e.name} ${name}=${raw}> out of range`);
  return n;
}

function bad(message: string): never {
  throw new InvalidRequestError(`invalid Omaha request: ${message}`);
}
