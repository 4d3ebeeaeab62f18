// Web Crypto checks (see suite.js): keys imported, exported and generated, HMAC, PBKDF2,
// ECDSA, Ed25519 and RSA signatures, with published test vectors (RFC 4231, RFC 6070,
// RFC 8032) and signatures made by OpenSSL. Called by webApiChecks with its `check`.

async function cryptoChecks(check) {
  const subtle = crypto.subtle;
  const utf8 = (text) => new TextEncoder().encode(text);
  const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
  const fromHex = (text) => new Uint8Array(text.match(/../g).map((pair) => parseInt(pair, 16)));
  const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const describe = (key) => [key.type, key.extractable, JSON.parse(JSON.stringify(key.algorithm, (name, value) =>
    value instanceof Uint8Array ? Array.from(value) : value)), key.usages];

  // HMAC: RFC 4231 test case 2.
  const jefe = await subtle.importKey("raw", utf8("Jefe"), { name: "HMAC", hash: "SHA-256" }, true, ["sign", "verify"]);
  const nothing = utf8("what do ya want for nothing?");
  await check("hmac key", () => describe(jefe));
  await check("hmac sha-256 rfc 4231", async () => hex(await subtle.sign("HMAC", jefe, nothing)));
  await check("hmac sha-512 rfc 4231", async () => {
    const key = await subtle.importKey("raw", utf8("Jefe"), { name: "HMAC", hash: { name: "SHA-512" } }, false, ["sign"]);
    return hex(await subtle.sign({ name: "hmac" }, key, nothing));
  });
  await check("hmac verify", async () => {
    const tag = await subtle.sign("HMAC", jefe, nothing);
    const wrong = new Uint8Array(tag).slice();
    wrong[0] ^= 1;
    return [await subtle.verify("HMAC", jefe, tag, nothing), await subtle.verify("HMAC", jefe, wrong, nothing),
      await subtle.verify("HMAC", jefe, tag.slice(0, 10), nothing)];
  });
  await check("hmac export", async () => [hex(await subtle.exportKey("raw", jefe)), await subtle.exportKey("jwk", jefe)]);
  await check("hmac jwk import", async () => {
    const key = await subtle.importKey("jwk", { kty: "oct", k: "SmVmZQ", alg: "HS256" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
    return [describe(key), hex(await subtle.sign("HMAC", key, nothing))];
  });
  await check("hmac jwk with another alg", () =>
    subtle.importKey("jwk", { kty: "oct", k: "SmVmZQ", alg: "HS512" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]));
  await check("hmac generate", async () => {
    const key = await subtle.generateKey({ name: "HMAC", hash: "SHA-384" }, true, ["sign"]);
    return [describe(key), (await subtle.exportKey("raw", key)).byteLength];
  });
  await check("hmac wrong usage", () => subtle.importKey("raw", utf8("k"), { name: "HMAC", hash: "SHA-256" }, false, ["encrypt"]));
  await check("hmac no usage", () => subtle.importKey("raw", utf8("k"), { name: "HMAC", hash: "SHA-256" }, false, []));
  await check("sign with a verify-only key", async () => {
    const key = await subtle.importKey("raw", utf8("k"), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
    return subtle.sign("HMAC", key, nothing);
  });
  await check("export a non-extractable key", async () => {
    const key = await subtle.importKey("raw", utf8("k"), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return subtle.exportKey("raw", key);
  });
  await check("unknown algorithm", () => subtle.importKey("raw", utf8("k"), { name: "AES-XYZ" }, false, ["sign"]));
  await check("CryptoKey is not constructible", () => new CryptoKey());

  // PBKDF2: RFC 6070, and a SHA-256 derivation.
  const password = await subtle.importKey("raw", utf8("password"), "PBKDF2", false, ["deriveBits", "deriveKey"]);
  await check("pbkdf2 key", () => describe(password));
  await check("pbkdf2 sha-1 rfc 6070", async () => [
    hex(await subtle.deriveBits({ name: "PBKDF2", hash: "SHA-1", salt: utf8("salt"), iterations: 1 }, password, 160)),
    hex(await subtle.deriveBits({ name: "PBKDF2", hash: "SHA-1", salt: utf8("salt"), iterations: 4096 }, password, 160)),
  ]);
  await check("pbkdf2 sha-256", async () =>
    hex(await subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: utf8("salt"), iterations: 2 }, password, 256)));
  await check("pbkdf2 derive an hmac key", async () => {
    const key = await subtle.deriveKey({ name: "PBKDF2", hash: "SHA-256", salt: utf8("salt"), iterations: 10 }, password,
      { name: "HMAC", hash: "SHA-256", length: 256 }, true, ["sign"]);
    return [describe(key), hex(await subtle.exportKey("raw", key))];
  });
  await check("pbkdf2 zero iterations", () =>
    subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: utf8("s"), iterations: 0 }, password, 256));
  await check("pbkdf2 odd length", () =>
    subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: utf8("s"), iterations: 1 }, password, 12));

  // Ed25519: RFC 8032 test 1 (and test 2 for a one-byte message).
  const seed = fromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  const pkcs8 = new Uint8Array([...fromHex("302e020100300506032b657004220420"), ...seed]);
  const edPrivate = await subtle.importKey("pkcs8", pkcs8, "Ed25519", true, ["sign"]);
  const edPublicRaw = fromHex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const edPublic = await subtle.importKey("raw", edPublicRaw, { name: "Ed25519" }, true, ["verify"]);
  await check("ed25519 keys", () => [describe(edPrivate), describe(edPublic)]);
  await check("ed25519 rfc 8032", async () => hex(await subtle.sign("Ed25519", edPrivate, new Uint8Array(0))));
  await check("ed25519 rfc 8032 test 2", async () => {
    const key = await subtle.importKey("jwk", {
      kty: "OKP", crv: "Ed25519",
      d: "TM0Imyj_ltqdtsNG7BFOD1uKMZ81q6Yk2oz27U-4pvs",
      x: "PUAXw-hDiVqStwqnTRt-vJyYLM8uxJaMwM1V8Sr0Zgw",
    }, "Ed25519", false, ["sign"]);
    return hex(await subtle.sign("Ed25519", key, new Uint8Array([0x72])));
  });
  await check("ed25519 verify", async () => {
    const signature = await subtle.sign("Ed25519", edPrivate, utf8("message"));
    return [await subtle.verify("Ed25519", edPublic, signature, utf8("message")),
      await subtle.verify("Ed25519", edPublic, signature, utf8("massage"))];
  });
  await check("ed25519 export", async () => [
    hex(await subtle.exportKey("raw", edPublic)),
    hex(await subtle.exportKey("spki", edPublic)),
    await subtle.exportKey("jwk", edPublic),
    hex(await subtle.exportKey("pkcs8", edPrivate)),
    await subtle.exportKey("jwk", edPrivate),
  ]);
  await check("ed25519 spki import", async () => {
    const spki = await subtle.exportKey("spki", edPublic);
    const key = await subtle.importKey("spki", spki, "Ed25519", false, ["verify"]);
    return describe(key);
  });
  await check("ed25519 generate", async () => {
    const pair = await subtle.generateKey("Ed25519", false, ["sign", "verify"]);
    const signature = await subtle.sign("Ed25519", pair.privateKey, utf8("x"));
    return [describe(pair.publicKey), describe(pair.privateKey), signature.byteLength,
      await subtle.verify("Ed25519", pair.publicKey, signature, utf8("x"))];
  });
  await check("ed25519 bad public key", () => subtle.importKey("raw", new Uint8Array(31), "Ed25519", true, ["verify"]));

  // ECDSA: a signature made by OpenSSL, and keys made here.
  const ecSpki = fromBase64("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE/54qoS7HRXpyfWBHjO4fcsZ9pV4At59SvDWgjVzyJzVP1L9HIdK9e7TrK5kgQS3AYr1rLs44r4Thly0ac62SlQ==");
  const ecSignature = fromBase64("5lIh89W6kt3tSeGhNWUD5pPtiutmNoKp9QkMZ8uDdtVBed8+okVR6OkXbsd79Wku6xQHqK/4inMloBVC/vyGTA==");
  const signed = utf8("signed by openssl");
  const ecPublic = await subtle.importKey("spki", ecSpki, { name: "ECDSA", namedCurve: "P-256" }, true, ["verify"]);
  await check("ecdsa key", () => describe(ecPublic));
  await check("ecdsa openssl signature", async () => [
    await subtle.verify({ name: "ECDSA", hash: "SHA-256" }, ecPublic, ecSignature, signed),
    await subtle.verify({ name: "ECDSA", hash: "SHA-256" }, ecPublic, ecSignature, utf8("signed by someone")),
  ]);
  await check("ecdsa export", async () => {
    const jwk = await subtle.exportKey("jwk", ecPublic);
    const raw = new Uint8Array(await subtle.exportKey("raw", ecPublic));
    const spki = new Uint8Array(await subtle.exportKey("spki", ecPublic));
    return [jwk, raw.length, raw[0], hex(spki) === hex(ecSpki)];
  });
  await check("ecdsa jwk round trip", async () => {
    const jwk = await subtle.exportKey("jwk", ecPublic);
    const key = await subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    return subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, ecSignature, signed);
  });
  await check("ecdsa generate, sign, verify", async () => {
    const pair = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
    const signature = await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, utf8("data"));
    const pkcs8 = await subtle.exportKey("pkcs8", pair.privateKey);
    const again = await subtle.importKey("pkcs8", pkcs8, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    const second = await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, again, utf8("data"));
    return [describe(pair.publicKey), describe(pair.privateKey), signature.byteLength,
      await subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pair.publicKey, signature, utf8("data")),
      await subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pair.publicKey, second, utf8("data")),
      await subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pair.publicKey, signature, utf8("date"))];
  });
  await check("ecdsa p-384", async () => {
    const pair = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, false, ["sign", "verify"]);
    const signature = await subtle.sign({ name: "ECDSA", hash: "SHA-384" }, pair.privateKey, utf8("data"));
    return [signature.byteLength, await subtle.verify({ name: "ECDSA", hash: "SHA-384" }, pair.publicKey, signature, utf8("data"))];
  });
  await check("ecdsa wrong curve", () => subtle.importKey("spki", ecSpki, { name: "ECDSA", namedCurve: "P-384" }, true, ["verify"]));
  await check("ecdsa bad point", () => subtle.importKey("raw", new Uint8Array(65), { name: "ECDSA", namedCurve: "P-256" }, true, ["verify"]));

  // RSA: PKCS#1 v1.5 and PSS signatures made by OpenSSL with a 2048-bit key.
  const rsaSpki = fromBase64("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAs2FBC0sGwUbW42yKcFzcxdpVL14sLRLbyoORXRoA4291zJbAuxKlxy+r3C5XjkXD1L62Uu0I+Do4SO7CHYv/f1dsmZjJjDu7ZYVh89ZQ4Rsd6KhUhC6/1AIxEt3lHCmnipfOT8jfqulfzpFZMqmTs7w3gt9EGOWNtQ3sAzxEUGBoyZqYHmSt+8bjFQeY7nYJ2klZXvH5cbyQD+P8wIVNCVPR8EvhMWfGCM2pRkc4+LxWHo0wmJOrVQu5vcmuq1fN33nuGlC2abPB8iaVFx3EDDjxjoT1P6t2jAB5seVgfsGGPyQ2Qw4oIGJDvBHgd6YcmVa3koTSJ+VoJg0LMul4KwIDAQAB");
  const pkcs1Signature = fromBase64("BDSwrXt5/S3RQAGZTgRalW2eDDUVYt8vMLewUK7f3WMneojTniNKwRzGrpWvrWPY8B/OG8TQEBXRxKyCNeaAi8UehTarl8nZRvdxTNvKZfOZ3s1f5BS841Cycex4LNkCTJ9cGT1tEaHX33nATOTEz5P1URPCQBqANBnHdjUzKnoor98XsNUtM20mT5gvGtS1w6Rmo/9tEO/4o7wZfS9Ife1LRsgSIgYnblR+kT3TPGgTDGfN+5vM3/ViM2rETAlrPu9gd8MYgjcKiRWmp8AjFn7XPmUhoT7VSBUl7DWZXSxmHStdF/O6cNL1BStCtT8nysB7EsEBgE7u5d/IGfVBLg==");
  const pssSignature = fromBase64("kenuu9ruaOxyXcGfgs0u378merZG6s+dyGbV+B+dgg0ZIIGuqMe6OjSFYcI9eOwiQC5qxBVrRbpA15IX+3fn1vYtxpEi0IilhDZyG4EItzJRkgN55quuo9uvdw9K8WkbCdf4pwyj2E71uJOgeh+bP2SnqbaEufYdVu+7wwDmDgIC3Q4wq0uXP85cki3gYPJqj7AJRKAy785r5UF6swJAXkyPdf3P1EbV4A8g+MjEM5Qn/LzfYXPPYQ41V9H/Devb74fPT8RNtoTPm7gyR56S8fcOtjsbE7cvm3FoF0Ahlk3vpdeV4q5bhr84dzCZhAiuaMTUrQZVXZM+RayLTU7M7w==");
  const rsaPublic = await subtle.importKey("spki", rsaSpki, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["verify"]);
  await check("rsa key", () => describe(rsaPublic));
  await check("rsa pkcs1 openssl signature", async () => [
    await subtle.verify("RSASSA-PKCS1-v1_5", rsaPublic, pkcs1Signature, signed),
    await subtle.verify("RSASSA-PKCS1-v1_5", rsaPublic, pkcs1Signature, utf8("tampered")),
  ]);
  await check("rsa pss openssl signature", async () => {
    const key = await subtle.importKey("spki", rsaSpki, { name: "RSA-PSS", hash: "SHA-256" }, false, ["verify"]);
    return [
      await subtle.verify({ name: "RSA-PSS", saltLength: 32 }, key, pssSignature, signed),
      await subtle.verify({ name: "RSA-PSS", saltLength: 32 }, key, pssSignature, utf8("tampered")),
    ];
  });
  await check("rsa jwk round trip", async () => {
    const jwk = await subtle.exportKey("jwk", rsaPublic);
    const key = await subtle.importKey("jwk", jwk, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["verify"]);
    const spki = await subtle.exportKey("spki", key);
    return [jwk.kty, jwk.alg, jwk.e, jwk.n.length, hex(spki) === hex(rsaSpki),
      await subtle.verify("RSASSA-PKCS1-v1_5", key, pkcs1Signature, signed)];
  });
  await check("rsa wrong key type", () => subtle.importKey("spki", ecSpki, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["verify"]));
}
