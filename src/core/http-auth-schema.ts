// The config schema of an HTTP system's `auth` block (its own module: the config is checked
// without loading the HTTP client).
import { z } from 'zod';

const secret = z.string();

export const httpAuthSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({ type: z.literal('bearer'), token: secret }),
  z.strictObject({ type: z.literal('header'), name: z.string().min(1), value: secret }),
  z.strictObject({
    type: z.literal('token-endpoint'),
    url: z.string().url(),
    username: z.string().optional(),
    password: secret.optional(),
    clientId: z.string().optional(),
    clientSecret: secret.optional(),
    tokenPath: z.string().default('access_token'),
    scheme: z.string().default('Bearer'),
  }),
  z.strictObject({
    type: z.literal('oauth2-refresh'),
    tokenUrl: z.string().url(),
    clientId: z.string(),
    clientSecret: secret,
    refreshToken: secret,
    scheme: z.string().default('Bearer'),
  }),
]);
