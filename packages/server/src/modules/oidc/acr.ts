/** Authentication context classes the issuer advertises (`acr_values_supported`). */
export const ACR_PASSWORD = 'urn:personachain:acr:pwd';
/**
 * A second factor (TOTP or a recovery code) was proven in this session, or it signed in with a passkey
 * (user verification required: amr `mfa`).
 */
export const ACR_MFA = 'urn:personachain:acr:mfa';
export const ACR_VALUES = [ACR_PASSWORD, ACR_MFA] as const;

/**
 * The acr an identity session's authentication methods reach. `otp` alone is one factor (an emailed
 * code); with `pwd` it is the TOTP after a password.
 */
export function acrOf(amr: readonly string[]): string {
  return amr.includes('mfa') || (amr.includes('otp') && amr.includes('pwd')) ? ACR_MFA : ACR_PASSWORD;
}
