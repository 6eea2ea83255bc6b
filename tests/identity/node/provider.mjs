// A real OpenID Connect provider for the console's single sign-on tests: panva's oidc-provider with its
// development interactions (any login name, any password; the login name becomes the account id, its
// email and its sourcedId claim). Listens on 127.0.0.1, an ephemeral port; prints {"issuer": ...} once
// ready, then serves until killed.
//   node provider.mjs CLIENT_ID CLIENT_SECRET REDIRECT_URI[,REDIRECT_URI...]
import http from 'node:http';
import Provider from 'oidc-provider';

const [clientId, clientSecret, redirectUri] = process.argv.slice(2);
if (!clientId || !clientSecret || !redirectUri) {
  console.error('usage: node provider.mjs CLIENT_ID CLIENT_SECRET REDIRECT_URI');
  process.exit(2);
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUri.split(','),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['sourced_id'] },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: id.includes('@') ? id : undefined, email_verified: true, sourced_id: id };
        },
      };
    },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['portrait-test-cookie-key-0123456789'] },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  process.stdout.write(JSON.stringify({ issuer }) + '\n');
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
