import { localAdapter, localCapabilities } from './local.js';
import { onfidoAdapter, onfidoCapabilities } from './onfido.js';
import { personaAdapter, personaCapabilities } from './persona.js';
import { sumsubAdapter, sumsubCapabilities } from './sumsub.js';
import type { AdapterFactory, ProviderCapabilities, ProviderKind } from './types.js';
import { veriffAdapter, veriffCapabilities } from './veriff.js';

/** Every provider adapter, by kind. */
export const PROVIDER_ADAPTERS: Record<ProviderKind, AdapterFactory> = {
  onfido: onfidoAdapter,
  sumsub: sumsubAdapter,
  veriff: veriffAdapter,
  persona: personaAdapter,
  local: localAdapter,
};

export const PROVIDER_CAPABILITIES: Record<ProviderKind, ProviderCapabilities> = {
  onfido: onfidoCapabilities,
  sumsub: sumsubCapabilities,
  veriff: veriffCapabilities,
  persona: personaCapabilities,
  local: localCapabilities,
};
