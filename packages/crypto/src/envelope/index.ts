export { type DetachedEnvelope, openDetached, sealDetached } from './detached.js';
export {
  deriveEnvelopeKeyPair,
  ENVELOPE_HPKE_INFO,
  type EnvelopeInfo,
  type EnvelopeKeyPair,
  type EnvelopeOptions,
  type EnvelopeRecipient,
  generateEnvelopeKeyPair,
  inspectEnvelope,
  openEnvelope,
  sealEnvelope,
  sealMultiRecipientEnvelope,
} from './envelope.js';
export { ENVELOPE_VERSION } from './format.js';
export {
  type EnvelopeBackend,
  type EnvelopeSuite,
  type EnvelopeSuiteName,
  envelopeKeyId,
  envelopeSuite,
} from './suites.js';
