// update_engine's action codes, as sent in `<event errorcode=…>` (flatcar/update_engine
// src/update_engine/action_processor.h, enum ActionExitCode): the low bits name the failure,
// bits 28–31 are flags, 2000 + N is an HTTP status N from the Omaha server.

const NAMES: Record<number, string> = {
  0: 'Success',
  1: 'Error',
  2: 'OmahaRequestError',
  3: 'OmahaResponseHandlerError',
  4: 'FilesystemCopierError',
  5: 'PostinstallRunnerError',
  7: 'InstallDeviceOpenError',
  8: 'KernelDeviceOpenError',
  9: 'DownloadTransferError',
  10: 'PayloadHashMismatchError',
  11: 'PayloadSizeMismatchError',
  12: 'DownloadPayloadVerificationError',
  13: 'DownloadNewPartitionInfoError',
  14: 'DownloadWriteError',
  15: 'NewRootfsVerificationError',
  16: 'NewKernelVerificationError',
  17: 'SignedDeltaPayloadExpectedError',
  18: 'DownloadPayloadPubKeyVerificationError',
  19: 'PostinstallBootedFromFirmwareB',
  20: 'DownloadStateInitializationError',
  21: 'DownloadInvalidMetadataMagicString',
  22: 'DownloadSignatureMissingInManifest',
  23: 'DownloadManifestParseError',
  24: 'DownloadMetadataSignatureError',
  25: 'DownloadMetadataSignatureVerificationError',
  26: 'DownloadMetadataSignatureMismatch',
  27: 'DownloadOperationHashVerificationError',
  28: 'DownloadOperationExecutionError',
  29: 'DownloadOperationHashMismatch',
  30: 'OmahaRequestEmptyResponseError',
  31: 'OmahaRequestXMLParseError',
  32: 'DownloadInvalidMetadataSize',
  33: 'DownloadInvalidMetadataSignature',
  34: 'OmahaResponseInvalid',
  35: 'OmahaUpdateIgnoredPerPolicy',
  36: 'OmahaUpdateDeferredPerPolicy',
  37: 'OmahaErrorInHTTPResponse',
  38: 'DownloadOperationHashMissingError',
  39: 'DownloadMetadataSignatureMissingError',
  40: 'OmahaUpdateDeferredForBackoff',
  41: 'PostinstallPowerwashError',
  42: 'NewPCRPolicyVerificationError',
  43: 'NewPCRPolicyHTTPError',
  44: 'RollbackError',
};

const FLAGS: Array<[number, string]> = [
  [1 << 31, 'dev-mode'],
  [1 << 30, 'resumed'],
  [1 << 29, 'test-image'],
  [1 << 28, 'test-omaha-url'],
];

export interface DecodedCode {
  /** The code without flag bits. */
  code: number;
  /** kActionCode… name without the prefix, `HTTP <status>`, or `code N`. */
  name: string;
  flags: string[];
}

export function decodeActionCode(raw: number): DecodedCode {
  const bits = raw >>> 0;
  const flags = FLAGS.filter(([bit]) => (bits & bit) >>> 0 !== 0).map(([, name]) => name);
  const code = bits & 0x0fffffff;
  const name =
    NAMES[code] ??
    (code >= 2000 && code < 3000 ? `HTTP ${code - 2000} from the update server` : `code ${code}`);
  return { code, name, flags };
}
