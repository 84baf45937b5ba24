// Omaha 3.0 responses in the shape update_engine parses (omaha_request_action.cc
// ParseResponse: /response/app/updatecheck with status, urls/url@codebase, the FIRST
// manifest/packages/package (name, size > 0), actions/action[@event=postinstall]@sha256) and
// the shape Flatcar's own static server emits (flatcar/init bin/flatcar-update): extension
// packages after the payload with `hash` (base64 SHA-1), `hash_sha256` (hex, as flatcar/ue-rs
// omaha/src/response.rs reads it) and required="false". Every value is escaped.

export interface PayloadFile {
  name: string;
  size: number;
  /** base64 SHA-1 (the package `hash`). */
  sha1: string;
  /** base64 SHA-256 (the postinstall `sha256` of the payload). */
  sha256: string;
  /** hex SHA-256 (`hash_sha256` of extension packages). */
  sha256Hex: string;
}

export interface Offer {
  version: string;
  /** Directory URL the package names are appended to (update_engine adds the `/`). */
  codebase: string;
  /** The update payload first (update_engine takes only the first package), then extensions. */
  payload: PayloadFile;
  extensions: PayloadFile[];
}

export type AppAnswer =
  | { appId: string; status: 'ok'; ping: boolean; check: 'none' | 'noupdate' | Offer; events: number }
  | { appId: string; status: 'error-unknownApplication' };

export const SERVER_NAME = 'railyard';

export function omahaResponse(apps: readonly AppAnswer[]): string {
  const body = apps.map(appXml).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<response protocol="3.0" server="${SERVER_NAME}"><daystart elapsed_seconds="0"/>${body}</response>\n`;
}

function appXml(a: AppAnswer): string {
  if (a.status !== 'ok') return el('app', { appid: a.appId, status: a.status });
  const parts: string[] = [];
  if (a.ping) parts.push(el('ping', { status: 'ok' }));
  if (a.check === 'noupdate') parts.push(el('updatecheck', { status: 'noupdate' }));
  else if (a.check !== 'none') parts.push(updateXml(a.check));
  for (let i = 0; i < a.events; i++) parts.push(el('event', { status: 'ok' }));
  return el('app', { appid: a.appId, status: 'ok' }, parts.join(''));
}

function updateXml(o: Offer): string {
  const packages = [
    el('package', {
      name: o.payload.name,
      hash: o.payload.sha1,
      size: String(o.payload.size),
      required: 'true',
    }),
    ...o.extensions.map((x) =>
      el('package', {
        name: x.name,
        hash: x.sha1,
        hash_sha256: x.sha256Hex,
        size: String(x.size),
        required: 'false',
      }),
    ),
  ].join('');
  const action = el('action', {
    event: 'postinstall',
    sha256: o.payload.sha256,
    DisablePayloadBackoff: 'true',
  });
  const manifest = el(
    'manifest',
    { version: o.version },
    el('packages', {}, packages) + el('actions', {}, action),
  );
  const urls = el('urls', {}, el('url', { codebase: o.codebase }));
  return el('updatecheck', { status: 'ok' }, urls + manifest);
}

function el(name: string, attrs: Record<string, string>, inner?: string): string {
  const a = Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${escapeAttr(v)}"`)
    .join('');
  return inner === undefined ? `<${name}${a}/>` : `<${name}${a}>${inner}</${name}>`;
}

export function escapeAttr(v: string): string {
  return v.replace(/[&<>"'\r\n\t]/g, (c) => `&#${c.charCodeAt(0)};`);
}
