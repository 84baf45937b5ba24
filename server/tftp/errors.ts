// Domain errors → TFTP ERROR packets, at the TFTP edge. The reply stays short; the log line
// (at the returned level) carries the cause.
import { BusyError, InvalidRequestError, isResourceExhausted, NotFoundError } from '../errors.ts';
import { ErrorCode } from './packets.ts';

export interface TftpErrorReply {
  code: number;
  message: string;
  level: 'info' | 'warn' | 'error';
}

export function tftpErrorFor(err: unknown): TftpErrorReply {
  if (err instanceof NotFoundError)
    return { code: ErrorCode.NOT_FOUND, message: 'file not found', level: 'info' };
  if (err instanceof InvalidRequestError) {
    return { code: ErrorCode.ACCESS_VIOLATION, message: 'access violation', level: 'warn' };
  }
  if (err instanceof BusyError || isResourceExhausted(err)) {
    return { code: ErrorCode.DISK_FULL, message: 'busy, try again later', level: 'warn' };
  }
  return { code: ErrorCode.UNDEFINED, message: 'internal error', level: 'error' };
}
