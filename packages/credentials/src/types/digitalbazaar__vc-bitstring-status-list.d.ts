// `@digitalbazaar/vc-bitstring-status-list` (untyped): the bitstring behind a status list, and the unsigned
// BitstringStatusListCredential. Only what this package uses.
declare module '@digitalbazaar/vc-bitstring-status-list' {
  export class BitstringStatusList {
    constructor(options: { length: number } | { buffer: Uint8Array });
    readonly length: number;
    setStatus(index: number, status: boolean): void;
    getStatus(index: number): boolean;
    /** `u` + base64url (no padding) of the GZIP of the bits. */
    encode(): Promise<string>;
  }
  export function createCredential(options: {
    id: string;
    list: { encode(): Promise<string> };
    statusPurpose: string;
  }): Promise<{
    '@context': string[];
    id: string;
    type: string[];
    credentialSubject: { id: string; type: string; encodedList: string; statusPurpose: string };
  }>;
}
