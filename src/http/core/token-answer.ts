import { signAccessToken } from "../../domain/tokens/sign-access-token";
import { signFirebaseToken } from "../../domain/tokens/sign-firebase-token";
import type { SettingsVariables } from "./app-env";

/**
 * The tokens a signed-in client gets, as both /verify-otp and /token/refresh
 * answer them: a signed access token naming the session (`sid`), the refresh
 * token, and a Firebase custom token when FIREBASE_SERVICE_ACCOUNT is set.
 */
export async function tokenAnswer(
  { settings, tokenKeys }: SettingsVariables,
  e164: string,
  session: { sessionId: string; refreshToken: string; refreshExpiresIn: number },
) {
  const [access, firebaseToken] = await Promise.all([
    signAccessToken(settings.jwt, tokenKeys.access, e164, session.sessionId),
    tokenKeys.firebase && signFirebaseToken(tokenKeys.firebase, e164, { phone_number: e164 }),
  ]);
  return {
    access_token: access.token,
    token_type: "Bearer" as const,
    expires_in: access.expiresIn,
    refresh_token: session.refreshToken,
    refresh_expires_in: session.refreshExpiresIn,
    ...(firebaseToken ? { firebase_token: firebaseToken } : {}),
  };
}
