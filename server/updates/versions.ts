// Flatcar versions as update_engine reports them (`version="3510.2.6"`, developer builds may
// carry a suffix such as `+dev` or `-rc1`): compared numerically on X.Y.Z, never as text.

const VERSION = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})(?:[+-][0-9A-Za-z.+-]{0,64})?$/;

/** [X, Y, Z], or undefined when `text` is not a Flatcar version. */
export function parseVersion(text: string): [number, number, number] | undefined {
  const m = VERSION.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** <0 when a is older than b, 0 when equal on X.Y.Z, >0 when newer. Throws on non-versions. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) throw new Error(`compareVersions: not a version: ${!pa ? a : b}`);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] as number) - (pb[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}
