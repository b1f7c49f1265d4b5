// A throwaway OpenID provider for oidcsetup's tests and demo: panva/oidc-provider, configured
// from a JSON file, listening on loopback only. Not for production use.
//
//   node server.mjs CONFIG.json
//
// CONFIG keys (all optional but clients):
//   host ("127.0.0.1"), port (0 = any free port), issuerPath ("" or e.g. "/oidc"),
//   https: {cert, key} (PEM file paths), clients: [oidc-provider client metadata],
//   clientAuthMethods: [...], scopes: [...], claims: {...}, accounts: {id: {claims}},
//   interactions: "dev" (devInteractions login/consent forms) | "auto" (zero clicks: log in as
//   autoLogin and grant what was asked), autoLogin: account id, readyFile: path,
//   requirePkce: false,
//   registration: {initialAccessToken: "...", rotate: true} enables dynamic client registration
//   (RFC 7591, features.registration) and its management (RFC 7592, registrationManagement,
//   access token rotated on update when rotate is true); absent: registration is off.
// When listening it writes readyFile: {"pid": ..., "port": ..., "issuer": "..."}.
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const host = config.host ?? '127.0.0.1';
const issuerPath = (config.issuerPath ?? '').replace(/\/$/, '');
const accounts = config.accounts ?? {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice Example', preferred_username: 'alice' },
};
const autoInteractions = (config.interactions ?? 'auto') === 'auto';

let provider;
const listener = (req, res) => {
  if (autoInteractions && req.url.startsWith(`${issuerPath}/auto-interaction/`)) {
    autoInteraction(req, res).catch((err) => {
      res.statusCode = 500;
      res.end(String(err));
    });
    return;
  }
  if (issuerPath) {
    if (!req.url.startsWith(`${issuerPath}/`) && req.url !== issuerPath) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    // Mount the provider under issuerPath: oidc-provider derives its mount path from originalUrl.
    req.originalUrl = req.url;
    req.url = req.url.slice(issuerPath.length) || '/';
  }
  provider.callback()(req, res);
};

async function autoInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const accountId = config.autoLogin ?? Object.keys(accounts)[0];
  const result = details.prompt.name === 'login'
    ? { login: { accountId } }
    : { consent: {} };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

const server = config.https
  ? https.createServer({ cert: readFileSync(config.https.cert), key: readFileSync(config.https.key) }, listener)
  : http.createServer(listener);

server.listen(config.port ?? 0, host, () => {
  const { port } = server.address();
  const scheme = config.https ? 'https' : 'http';
  const issuer = `${scheme}://${host}:${port}${issuerPath}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', use: 'sig', alg: 'RS256' };
  const options = {
    clients: config.clients ?? [],
    jwks: { keys: [jwk] },
    cookies: { keys: ['oidcsetup-testprovider-cookie-key'] },
    scopes: config.scopes ?? ['openid', 'email', 'profile', 'offline_access'],
    claims: config.claims ?? {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    pkce: { required: () => Boolean(config.requirePkce), methods: ['S256'] },
    features: {
      devInteractions: { enabled: !autoInteractions },
      rpInitiatedLogout: { enabled: true },
    },
    async findAccount(ctx, sub) {
      if (!accounts[sub]) return undefined;
      return { accountId: sub, async claims() { return { sub, ...accounts[sub] }; } };
    },
  };
  if (config.registration) {
    options.features.registration = {
      enabled: true,
      initialAccessToken: config.registration.initialAccessToken ?? false,
    };
    options.features.registrationManagement = {
      enabled: true,
      rotateRegistrationAccessToken: config.registration.rotate ?? true,
    };
  }
  if (config.clientAuthMethods) options.clientAuthMethods = config.clientAuthMethods;
  if (autoInteractions) {
    options.interactions = { url: (ctx, interaction) => `${issuerPath}/auto-interaction/${interaction.uid}` };
    // Zero clicks: grant whatever the client asked for, so a redirect follower reaches the callback.
    options.loadExistingGrant = async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) {
        const existing = await ctx.oidc.provider.Grant.find(grantId);
        if (existing) return existing;
      }
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(' ') : 'openid');
      grant.addOIDCClaims(['sub', 'email', 'email_verified', 'name', 'preferred_username']);
      await grant.save();
      return grant;
    };
  }
  provider = new Provider(issuer, options);
  provider.proxy = false;
  if (config.readyFile) {
    writeFileSync(`${config.readyFile}.tmp`, JSON.stringify({ pid: process.pid, port, issuer }));
    renameSync(`${config.readyFile}.tmp`, config.readyFile);
  }
  process.stderr.write(`oidc-provider listening: ${issuer}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
