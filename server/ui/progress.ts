// Live progress of installs: bytes of the Flatcar image (`flatcar_production_image.bin.bz2`,
// or railyard's derived `railyard/flatcar_production_image.bin.zst` / `.bin.mapped.zst`)
// sent so far. flatcar-install downloads the image without `?mac=`, so transfers are kept
// per client IP and tied to a machine only through its open install attempt: the IP of the
// attempt's latest authenticated request (a report with its install token, its installer
// cpio), else the IP its install script went to. A request that merely names a MAC (/ipxe,
// `?mac=`) ties nothing. What this measures: bytes railyard has handed to the socket for the
// newest image download from that IP — not bytes the node has written to disk.
const IMAGE = /flatcar_production_image\.bin\.(bz2|zst|mapped\.zst)$/;
const MAX_ENTRIES = 10_000;

export interface ImageTransfer {
  path: string;
  sent: number;
  total: number;
  startedAt: number;
  updatedAt: number;
  /** True once the response ended; `complete` tells whether every byte was sent. */
  done: boolean;
  complete: boolean;
}

export class ImageProgress {
  readonly #byIp = new Map<string, ImageTransfer>();
  readonly #ipByAttempt = new Map<number, string>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  static isImage(path: string): boolean {
    return IMAGE.test(path);
  }

  /** A request authenticated for install attempt `attemptId` came from `ip`. */
  sawAttempt(attemptId: number, ip: string): void {
    remember(this.#ipByAttempt, attemptId, ip);
  }

  /** `sent` bytes of `total` have been sent to `ip` so far (cumulative per response). */
  progress(ip: string, path: string, sent: number, total: number): void {
    if (!ImageProgress.isImage(path)) return;
    const now = this.#now();
    const current = this.#byIp.get(ip);
    const fresh = !current || current.done || current.path !== path || sent < current.sent;
    const startedAt = fresh ? now : current.startedAt;
    remember(this.#byIp, ip, { path, sent, total, startedAt, updatedAt: now, done: false, complete: false });
  }

  /** The response to `ip` ended after `sent` bytes. */
  delivered(ip: string, path: string, sent: number, total: number, complete: boolean): void {
    if (!ImageProgress.isImage(path)) return;
    const now = this.#now();
    const startedAt = this.#byIp.get(ip)?.startedAt ?? now;
    remember(this.#byIp, ip, { path, sent, total, startedAt, updatedAt: now, done: true, complete });
  }

  /**
   * The newest image transfer to the IP of this open attempt's latest authenticated request,
   * else to the IP that received its install script. undefined without an open attempt.
   */
  forAttempt(attempt: { id: number; clientIp: string | null } | undefined): ImageTransfer | undefined {
    if (!attempt) return undefined;
    const ip = this.#ipByAttempt.get(attempt.id) ?? attempt.clientIp;
    return ip === null ? undefined : this.#byIp.get(ip);
  }
}

/** Map insertion order doubles as age: refresh the key, drop the oldest beyond the cap. */
function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_ENTRIES) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
}
