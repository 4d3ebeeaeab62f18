// A strict OpenID Connect provider for Ferry's sign-in tests: panva's certified
// oidc-provider with PKCE required for every client, RFC 9207 `iss` in every answer, and
// e-mail and name given only by the userinfo endpoint (as the specification has it).
// Usage: node provider.mjs PORT CALLBACK_URL
import Provider from "oidc-provider";

const [port, callback] = process.argv.slice(2);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: "ferry",
      client_secret: "conformance-secret",
      redirect_uris: [callback],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  pkce: { required: () => true },
  async findAccount(_ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, email: `${sub}@example.com`, email_verified: true, name: `User ${sub}` };
      },
    };
  },
});
provider.listen(Number(port), "127.0.0.1", () => console.log("ready"));
