export {
  type CaptureSession,
  type DocumentKind,
  documentAad,
  type SubmittedFields,
  VerificationCapture,
  type VerificationCaptureOptions,
} from './capture.js';
