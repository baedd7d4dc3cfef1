// A real OpenID provider (panva/node-oidc-provider) for Scimitar's SSO tests.
// Usage: node provider.mjs <config.json>; prints "ready <issuer>" once it listens.
// The config names the issuer, port, signing keys (a private JWKS), clients and accounts
// (login name -> claims); the login page is the provider's own devInteractions page, where
// any password is accepted for a known login.
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const accounts = config.accounts;

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: config.jwks,
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  // Scope claims (email) in the ID token itself, as Okta and Entra ID put them there.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  ttl: { IdToken: config.idTokenTTL ?? 3600, AccessToken: 600, Grant: 600, Session: 600, Interaction: 600 },
  cookies: { keys: ["scimitar-test-cookie-key"] },
  async findAccount(ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  // First-party test clients: no consent screen (the grant is made on first sign-in).
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid email profile");
    await grant.save();
    return grant;
  },
});

const server = provider.listen(config.port, "127.0.0.1", () => {
  console.log(`ready ${config.issuer}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
