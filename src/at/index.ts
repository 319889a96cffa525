// AT protocol over any byte stream: framing, one command in flight, result codes, URCs, shell mode.

export {
  type AtClient,
  type AtClientOptions,
  type AtMode,
  type AtResponse,
  type AtSendOptions,
  type AtTerminator,
  openAtClient,
} from "./client.js";
export {
  belongsTo,
  CMNG_WRITE_TIMEOUT_MS,
  commandProblem,
  DEFAULT_TIMEOUT_MS,
  defaultTimeoutFor,
  KEYGEN_TIMEOUT_MS,
  MAX_COMMAND_BYTES,
  type ResponseMatcher,
  responseMatcher,
} from "./commands.js";
export { AtError, type AtErrorCode, cmeMeaning, commandName } from "./errors.js";
export { type AtFrame, AtLineFramer, MAX_LINE_BYTES } from "./framer.js";
export { type FinalResult, isFinalResultLine, parseFinalResult } from "./result-codes.js";
export {
  encodeShellCommand,
  SHELL_LF_ADVICE,
  SHELL_LF_UNESCAPE_PREFIX,
  SHELL_PROMPT,
  type ShellEncodingOptions,
  shellCommandProblem,
  shellStoredText,
  stripShellPrompt,
} from "./shell.js";
