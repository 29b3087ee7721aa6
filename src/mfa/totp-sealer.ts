// The sealer for authenticator-app secrets: the private-key sealing
// (keys/sealing.ts, AES-256-GCM) under a key of its own, derived from the
// master secret with a distinct HKDF label, so neither key opens the other's data.
import { createSealer, type Sealer } from '../keys/sealing.ts';

const INFO = 'latchkey: AES-256-GCM key for sealing TOTP secrets at rest';

export function createTotpSealer(masterSecret: string): Sealer {
  return createSealer(masterSecret, INFO);
}
