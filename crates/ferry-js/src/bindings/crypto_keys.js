// `crypto.subtle` beyond `digest`: `CryptoKey`, `importKey` and `exportKey` (raw, JWK,
// SPKI, PKCS#8), `sign` and `verify` (HMAC, ECDSA P-256/P-384, Ed25519; RSASSA-PKCS1-v1_5
// and RSA-PSS verification), `deriveBits` and `deriveKey` with PBKDF2, `generateKey`
// (HMAC, ECDSA, Ed25519); and `passwords` (argon2id) for stored passwords. The
// arithmetic is ring's, in Rust (subtle.rs); keys stay in this file's private state.
// Evaluated after web.js.
(function (host, shared) {
  "use strict";

  const { DOMException, bytesOf, bytesToText, SubtleCrypto } = shared;
  const SafeTypeError = TypeError;
  const SafeUint8Array = Uint8Array;
  const newKey = Symbol("CryptoKey");
  // Kept now: a script may replace the globals later.
  const encode64 = globalThis.btoa;
  const decode64 = globalThis.atob;

  const fail = (message, name) => new DOMException(message, name);
  const notSupported = (message) => fail(message, "NotSupportedError");
  const dataError = (message) => fail(message, "DataError");
  const accessError = (message) => fail(message, "InvalidAccessError");
  const syntaxError = (message) => fail(message, "SyntaxError");

  // Names as Web Crypto spells them, found case-insensitively.
  const algorithmNames = {
    "HMAC": "HMAC", "PBKDF2": "PBKDF2", "ECDSA": "ECDSA", "RSASSA-PKCS1-V1_5": "RSASSA-PKCS1-v1_5",
    "RSA-PSS": "RSA-PSS", "ED25519": "Ed25519", "SHA-1": "SHA-1", "SHA-256": "SHA-256",
    "SHA-384": "SHA-384", "SHA-512": "SHA-512",
  };
  const canonical = (name) => algorithmNames[String(name).toUpperCase()];
  const algorithmOf = (algorithm) => {
    const given = typeof algorithm === "string" ? { name: algorithm } : algorithm;
    if (!given || typeof given !== "object" || given.name === undefined) {
      throw new SafeTypeError("crypto.subtle: name the algorithm, e.g. { name: \"HMAC\", hash: \"SHA-256\" }");
    }
    const name = canonical(given.name);
    if (name === undefined) throw notSupported(`crypto.subtle: ${String(given.name)} is not supported`);
    return { ...given, name };
  };
  const hashOf = (hash, what) => {
    if (hash === undefined) throw new SafeTypeError(`${what}: a hash is required, e.g. "SHA-256"`);
    const name = canonical(typeof hash === "string" ? hash : hash && hash.name);
    if (name === undefined || !name.startsWith("SHA-")) throw notSupported(`${what}: ${String(hash && hash.name || hash)} is not a hash`);
    return name;
  };
  const bufferOf = (source, what) => {
    const bytes = bytesOf(source);
    if (bytes === undefined) throw new SafeTypeError(`${what} must be an ArrayBuffer or a view of one`);
    return new SafeUint8Array(bytes);
  };
  const text = (bytes) => bytesToText(bytes);
  const arrayBuffer = (bytes) => bytes.slice().buffer;
  const concat = (...parts) => shared.joinBytes(parts);
  const hexBytes = (hex) => new SafeUint8Array(hex.match(/../g).map((pair) => parseInt(pair, 16)));
  const sameBytes = (a, b) => a.length === b.length && a.every((byte, index) => byte === b[index]);

  // base64url without padding, as JWK writes it.
  const base64url = (bytes) => encode64(text(bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const fromBase64url = (value, what) => {
    if (typeof value !== "string" || !/^[A-Za-z0-9_-]*$/.test(value)) throw dataError(`JWK: ${what} is not base64url`);
    const plain = value.replace(/-/g, "+").replace(/_/g, "/");
    const decoded = decode64(plain + "=".repeat((4 - (plain.length % 4)) % 4));
    const bytes = new SafeUint8Array(decoded.length);
    for (let i = 0; i < decoded.length; i++) bytes[i] = decoded.charCodeAt(i);
    return bytes;
  };

  // Object identifiers and fixed DER prefixes of the formats.
  const oids = {
    ecPublicKey: hexBytes("2a8648ce3d0201"), "P-256": hexBytes("2a8648ce3d030107"), "P-384": hexBytes("2b81040022"),
    rsaEncryption: hexBytes("2a864886f70d010101"), Ed25519: hexBytes("2b6570"),
  };
  const spkiPrefix = {
    "P-256": hexBytes("3059301306072a8648ce3d020106082a8648ce3d030107034200"),
    "P-384": hexBytes("3076301006072a8648ce3d020106052b81040022036200"),
    Ed25519: hexBytes("302a300506032b6570032100"),
  };
  const ed25519Pkcs8Prefix = hexBytes("302e020100300506032b657004220420");
  const curveBytes = { "P-256": 32, "P-384": 48 };
  const hashBytes = { "SHA-1": 20, "SHA-256": 32, "SHA-384": 48, "SHA-512": 64 };
  const hashBlockBits = { "SHA-1": 512, "SHA-256": 512, "SHA-384": 1024, "SHA-512": 1024 };

  // CryptoKey ---------------------------------------------------------------------------

  const slots = new WeakMap();
  const slotOf = (key) => {
    const slot = slots.get(key);
    if (slot === undefined) throw new SafeTypeError("crypto.subtle: the key must be a CryptoKey");
    return slot;
  };

  class CryptoKey {
    constructor(key = undefined) {
      if (key !== newKey) throw new SafeTypeError("Illegal constructor");
    }
    get type() { return slotOf(this).type; }
    get extractable() { return slotOf(this).extractable; }
    get algorithm() { return slotOf(this).algorithm; }
    get usages() { return slotOf(this).usages; }
    get [Symbol.toStringTag]() { return "CryptoKey"; }
  }

  const allowedUsages = {
    "HMAC secret": ["sign", "verify"],
    "PBKDF2 secret": ["deriveBits", "deriveKey"],
    "ECDSA public": ["verify"], "ECDSA private": ["sign"],
    "RSASSA-PKCS1-v1_5 public": ["verify"], "RSA-PSS public": ["verify"],
    "Ed25519 public": ["verify"], "Ed25519 private": ["sign"],
  };
  const makeKey = (type, extractable, algorithm, usages, material) => {
    const allowed = allowedUsages[`${algorithm.name} ${type}`];
    const list = Array.from(usages ?? [], String);
    for (const usage of list) {
      if (!allowed.includes(usage)) throw syntaxError(`crypto.subtle: a ${type} ${algorithm.name} key cannot be used to ${usage}`);
    }
    if (list.length === 0 && type !== "public") throw syntaxError(`crypto.subtle: a ${type} key needs at least one usage`);
    const key = new CryptoKey(newKey);
    slots.set(key, {
      type,
      extractable: Boolean(extractable),
      algorithm: Object.freeze(algorithm),
      usages: list.filter((usage, index) => list.indexOf(usage) === index),
      material,
    });
    return key;
  };
  const usable = (key, name, usage) => {
    const slot = slotOf(key);
    if (slot.algorithm.name !== name) throw accessError(`crypto.subtle: the key is a ${slot.algorithm.name} key, not ${name}`);
    if (!slot.usages.includes(usage)) throw accessError(`crypto.subtle: the key may not be used to ${usage}`);
    return slot;
  };

  // importKey -------------------------------------------------------------------------

  const jwkOf = (keyData, kty) => {
    if (!keyData || typeof keyData !== "object" || bytesOf(keyData) !== undefined) throw new SafeTypeError("importKey: a JWK must be an object");
    if (keyData.kty !== kty) throw dataError(`importKey: the JWK's kty must be "${kty}"`);
    if (keyData.ext === false && keyData.extractable) throw dataError("importKey: the JWK is not extractable");
    return keyData;
  };

  const importers = {
    HMAC(format, keyData, algorithm, extractable, usages) {
      const hash = hashOf(algorithm.hash, "HMAC");
      let secret;
      if (format === "raw") {
        secret = bufferOf(keyData, "importKey: the key");
      } else if (format === "jwk") {
        const jwk = jwkOf(keyData, "oct");
        secret = fromBase64url(jwk.k, "k");
        const expected = hash === "SHA-1" ? "HS1" : `HS${hash.slice(4)}`;
        if (jwk.alg !== undefined && jwk.alg !== expected) throw dataError(`importKey: the JWK is for ${jwk.alg}, not HMAC with ${hash}`);
      } else {
        throw notSupported(`importKey: an HMAC key cannot be imported as ${format}`);
      }
      if (secret.length === 0) throw dataError("importKey: an HMAC key cannot be empty");
      const length = algorithm.length === undefined ? secret.length * 8 : Number(algorithm.length);
      if (length !== secret.length * 8) throw dataError("importKey: the length does not match the key");
      return makeKey("secret", extractable, { name: "HMAC", hash: { name: hash }, length }, usages, { secret });
    },
    PBKDF2(format, keyData, algorithm, extractable, usages) {
      if (format !== "raw") throw notSupported(`importKey: a PBKDF2 key is imported as raw, not ${format}`);
      if (extractable) throw syntaxError("importKey: a PBKDF2 key cannot be extractable");
      return makeKey("secret", false, { name: "PBKDF2" }, usages, { secret: bufferOf(keyData, "importKey: the password") });
    },
    ECDSA(format, keyData, algorithm, extractable, usages) {
      const curve = String(algorithm.namedCurve);
      const size = curveBytes[curve];
      if (size === undefined) throw notSupported(`importKey: the curve ${curve} is not supported (P-256, P-384)`);
      const made = { name: "ECDSA", namedCurve: curve };
      const publicKey = (point) => {
        if (point.length !== 1 + 2 * size || point[0] !== 4) throw dataError(`importKey: not an uncompressed ${curve} point`);
        return makeKey("public", extractable, made, usages, { point });
      };
      if (format === "raw") return publicKey(bufferOf(keyData, "importKey: the key"));
      if (format === "spki" || format === "pkcs8") {
        const parsed = (format === "spki" ? host.spkiParse : host.pkcs8Parse)(text(bufferOf(keyData, "importKey: the key")));
        if (!parsed || !sameBytes(parsed[0], oids.ecPublicKey) || !sameBytes(parsed[1], oids[curve])) {
          throw dataError(`importKey: not an ${format.toUpperCase()} ${curve} ECDSA key`);
        }
        if (format === "spki") return publicKey(parsed[2]);
        const pkcs8 = bufferOf(keyData, "importKey: the key");
        let point;
        try {
          point = host.ecdsaPublic(curve, text(pkcs8));
        } catch (error) {
          throw dataError(`importKey: ${error.message}`);
        }
        return makeKey("private", extractable, made, usages, { pkcs8, point });
      }
      if (format === "jwk") {
        const jwk = jwkOf(keyData, "EC");
        if (jwk.crv !== curve) throw dataError(`importKey: the JWK's curve is ${jwk.crv}, not ${curve}`);
        const x = fromBase64url(jwk.x, "x");
        const y = fromBase64url(jwk.y, "y");
        if (x.length !== size || y.length !== size) throw dataError("importKey: the JWK's x and y do not fit the curve");
        const point = concat(new SafeUint8Array([4]), x, y);
        if (jwk.d === undefined) return publicKey(point);
        const scalar = fromBase64url(jwk.d, "d");
        if (scalar.length !== size) throw dataError("importKey: the JWK's d does not fit the curve");
        return makeKey("private", extractable, made, usages, { scalar, point });
      }
      throw notSupported(`importKey: ${format} is not a key format`);
    },
    "RSASSA-PKCS1-v1_5"(format, keyData, algorithm, extractable, usages) {
      return importRsa(format, keyData, algorithm, extractable, usages);
    },
    "RSA-PSS"(format, keyData, algorithm, extractable, usages) {
      return importRsa(format, keyData, algorithm, extractable, usages);
    },
    Ed25519(format, keyData, algorithm, extractable, usages) {
      const made = { name: "Ed25519" };
      const publicKey = (point) => {
        if (point.length !== 32) throw dataError("importKey: an Ed25519 public key is 32 bytes");
        return makeKey("public", extractable, made, usages, { point });
      };
      const privateKey = (seed) => {
        if (seed.length !== 32) throw dataError("importKey: an Ed25519 private key is 32 bytes");
        return makeKey("private", extractable, made, usages, { seed, point: host.ed25519Public(text(seed)) });
      };
      if (format === "raw") return publicKey(bufferOf(keyData, "importKey: the key"));
      if (format === "spki" || format === "pkcs8") {
        const parsed = (format === "spki" ? host.spkiParse : host.pkcs8Parse)(text(bufferOf(keyData, "importKey: the key")));
        if (!parsed || !sameBytes(parsed[0], oids.Ed25519)) throw dataError(`importKey: not an ${format.toUpperCase()} Ed25519 key`);
        if (format === "spki") return publicKey(parsed[2]);
        const inner = parsed[2];
        if (inner.length !== 34 || inner[0] !== 4 || inner[1] !== 32) throw dataError("importKey: not a PKCS8 Ed25519 key");
        return privateKey(inner.slice(2));
      }
      if (format === "jwk") {
        const jwk = jwkOf(keyData, "OKP");
        if (jwk.crv !== "Ed25519") throw dataError(`importKey: the JWK's curve is ${jwk.crv}, not Ed25519`);
        const point = fromBase64url(jwk.x, "x");
        if (jwk.d === undefined) return publicKey(point);
        const key = privateKey(fromBase64url(jwk.d, "d"));
        if (!sameBytes(slotOf(key).material.point, point)) throw dataError("importKey: the JWK's x is not the public key of its d");
        return key;
      }
      throw notSupported(`importKey: ${format} is not a key format`);
    },
  };

  const importRsa = (format, keyData, algorithm, extractable, usages) => {
    const hash = hashOf(algorithm.hash, algorithm.name);
    let n;
    let e;
    if (format === "spki") {
      const parsed = host.spkiParse(text(bufferOf(keyData, "importKey: the key")));
      if (!parsed || !sameBytes(parsed[0], oids.rsaEncryption)) throw dataError("importKey: not an SPKI RSA key");
      const components = host.rsaPublicParse(text(parsed[2]));
      if (!components) throw dataError("importKey: not an RSA public key");
      [n, e] = components;
    } else if (format === "jwk") {
      const jwk = jwkOf(keyData, "RSA");
      if (jwk.d !== undefined) throw notSupported("importKey: RSA private keys are not supported (Ferry verifies RSA signatures only)");
      n = fromBase64url(jwk.n, "n");
      e = fromBase64url(jwk.e, "e");
      while (n.length > 0 && n[0] === 0) n = n.slice(1);
    } else {
      throw notSupported(`importKey: an RSA public key is imported as spki or jwk, not ${format}`);
    }
    if (n.length * 8 < 2048 - 7) throw dataError("importKey: RSA keys shorter than 2048 bits are refused");
    const modulusLength = n.length * 8 - Math.clz32(n[0]) + 24;
    return makeKey("public", extractable, {
      name: algorithm.name, modulusLength, publicExponent: new SafeUint8Array(e), hash: { name: hash },
    }, usages, { n, e });
  };

  // exportKey -------------------------------------------------------------------------

  const jwkAlgorithm = (slot) => {
    const { name, hash } = slot.algorithm;
    const size = hash && hash.name.slice(4);
    if (name === "HMAC") return hash.name === "SHA-1" ? "HS1" : `HS${size}`;
    if (name === "RSASSA-PKCS1-v1_5") return hash.name === "SHA-1" ? "RS1" : `RS${size}`;
    if (name === "RSA-PSS") return hash.name === "SHA-1" ? "PS1" : `PS${size}`;
    if (name === "ECDSA") return slot.algorithm.namedCurve === "P-256" ? "ES256" : "ES384";
    return undefined;
  };

  const exportOf = (format, slot) => {
    const { name } = slot.algorithm;
    const material = slot.material;
    const jwk = (fields) => {
      const alg = jwkAlgorithm(slot);
      return { ...fields, ...(alg ? { alg } : {}), key_ops: slot.usages.slice(), ext: slot.extractable };
    };
    if (name === "HMAC") {
      if (format === "raw") return arrayBuffer(material.secret);
      if (format === "jwk") return jwk({ kty: "oct", k: base64url(material.secret) });
    } else if (name === "ECDSA") {
      const curve = slot.algorithm.namedCurve;
      const size = curveBytes[curve];
      const coordinates = { kty: "EC", crv: curve, x: base64url(material.point.slice(1, 1 + size)), y: base64url(material.point.slice(1 + size)) };
      if (slot.type === "public") {
        if (format === "raw") return arrayBuffer(material.point);
        if (format === "spki") return arrayBuffer(concat(spkiPrefix[curve], material.point));
        if (format === "jwk") return jwk(coordinates);
      } else {
        if (format === "pkcs8" && material.pkcs8) return arrayBuffer(material.pkcs8);
        if (format === "jwk" && material.scalar) return jwk({ ...coordinates, d: base64url(material.scalar) });
        if (format === "pkcs8" || format === "jwk") throw notSupported(`exportKey: this ECDSA private key can be exported as ${material.pkcs8 ? "pkcs8" : "jwk"} only`);
      }
    } else if (name === "RSASSA-PKCS1-v1_5" || name === "RSA-PSS") {
      if (format === "spki") return arrayBuffer(host.rsaSpki(text(material.n), text(material.e)));
      if (format === "jwk") return jwk({ kty: "RSA", n: base64url(material.n), e: base64url(material.e) });
    } else if (name === "Ed25519") {
      if (slot.type === "public") {
        if (format === "raw") return arrayBuffer(material.point);
        if (format === "spki") return arrayBuffer(concat(spkiPrefix.Ed25519, material.point));
        if (format === "jwk") return jwk({ kty: "OKP", crv: "Ed25519", x: base64url(material.point) });
      } else {
        if (format === "pkcs8") return arrayBuffer(concat(ed25519Pkcs8Prefix, material.seed));
        if (format === "jwk") return jwk({ kty: "OKP", crv: "Ed25519", x: base64url(material.point), d: base64url(material.seed) });
      }
    }
    throw notSupported(`exportKey: a ${slot.type} ${name} key cannot be exported as ${format}`);
  };

  // sign, verify, deriveBits -------------------------------------------------------

  const ecdsaScheme = (algorithm, slot) => {
    const hash = hashOf(algorithm.hash, "ECDSA");
    const curve = slot.algorithm.namedCurve;
    const expected = curve === "P-256" ? "SHA-256" : "SHA-384";
    if (hash !== expected) throw notSupported(`ECDSA: ${curve} is supported with ${expected}, not ${hash}`);
    return `ECDSA ${curve} ${hash}`;
  };

  const signWith = (algorithm, key, data) => {
    const given = algorithmOf(algorithm);
    const slot = usable(key, given.name, "sign");
    const bytes = text(bufferOf(data, "sign: the data"));
    const material = slot.material;
    switch (given.name) {
      case "HMAC":
        return host.hmacSign(slot.algorithm.hash.name, text(material.secret), bytes);
      case "ECDSA":
        ecdsaScheme(given, slot);
        return host.ecdsaSign(slot.algorithm.namedCurve, material.pkcs8 ? text(material.pkcs8) : "",
          material.scalar ? text(material.scalar) : "", text(material.point), bytes);
      case "Ed25519":
        return host.ed25519Sign(text(material.seed), bytes);
      default:
        throw notSupported(`sign: signing with ${given.name} is not supported (Ferry verifies RSA signatures only)`);
    }
  };

  const verifyWith = (algorithm, key, signature, data) => {
    const given = algorithmOf(algorithm);
    const slot = usable(key, given.name, "verify");
    const bytes = text(bufferOf(data, "verify: the data"));
    const signed = text(bufferOf(signature, "verify: the signature"));
    const material = slot.material;
    switch (given.name) {
      case "HMAC":
        return host.hmacVerify(slot.algorithm.hash.name, text(material.secret), signed, bytes);
      case "ECDSA":
        return host.signatureVerify(ecdsaScheme(given, slot), text(material.point), signed, bytes, "");
      case "Ed25519":
        return host.signatureVerify("Ed25519", text(material.point), signed, bytes, "");
      case "RSASSA-PKCS1-v1_5":
      case "RSA-PSS": {
        const hash = slot.algorithm.hash.name;
        if (given.name === "RSA-PSS" && Number(given.saltLength) !== hashBytes[hash]) {
          throw notSupported(`verify: RSA-PSS with ${hash} is supported with a saltLength of ${hashBytes[hash]}`);
        }
        return host.signatureVerify(`${given.name} ${hash}`, text(material.n), signed, bytes, text(material.e));
      }
      default:
        throw notSupported(`verify: ${given.name} cannot verify`);
    }
  };

  const deriveWith = (algorithm, key, length) => {
    const given = algorithmOf(algorithm);
    if (given.name !== "PBKDF2") throw notSupported(`deriveBits: ${given.name} cannot derive bits`);
    const slot = slotOf(key);
    if (slot.algorithm.name !== "PBKDF2") throw accessError("deriveBits: the key is not a PBKDF2 key");
    const hash = hashOf(given.hash, "PBKDF2");
    const iterations = Number(given.iterations);
    if (!Number.isInteger(iterations) || iterations < 1) throw fail("deriveBits: iterations must be a positive integer", "OperationError");
    if (length === null || length === undefined || Number(length) % 8 !== 0 || Number(length) <= 0) {
      throw fail("deriveBits: the length must be a positive multiple of 8", "OperationError");
    }
    return host.pbkdf2(hash, text(slot.material.secret), text(bufferOf(given.salt, "deriveBits: the salt")), iterations, Number(length) / 8);
  };

  // The promise of what `work` returns, or of the error it throws.
  const promised = (work) => {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error);
    }
  };

  const methods = {
    importKey(format, keyData, algorithm, extractable, usages) {
      return promised(() => {
        const given = algorithmOf(algorithm);
        const importer = importers[given.name];
        if (!importer) throw notSupported(`importKey: ${given.name} keys are not supported`);
        return importer(String(format), keyData, given, Boolean(extractable), usages);
      });
    },
    exportKey(format, key) {
      return promised(() => {
        const slot = slotOf(key);
        if (!slot.extractable) throw accessError("exportKey: the key is not extractable");
        return exportOf(String(format), slot);
      });
    },
    sign(algorithm, key, data) {
      return promised(() => arrayBuffer(signWith(algorithm, key, data)));
    },
    verify(algorithm, key, signature, data) {
      return promised(() => verifyWith(algorithm, key, signature, data));
    },
    deriveBits(algorithm, baseKey, length = null) {
      return promised(() => {
        if (!slotOf(baseKey).usages.includes("deriveBits")) throw accessError("deriveBits: the key may not be used to deriveBits");
        return arrayBuffer(deriveWith(algorithm, baseKey, length));
      });
    },
    deriveKey(algorithm, baseKey, derivedKeyType, extractable, usages) {
      return promised(() => {
        if (!slotOf(baseKey).usages.includes("deriveKey")) throw accessError("deriveKey: the key may not be used to deriveKey");
        const target = algorithmOf(derivedKeyType);
        if (target.name !== "HMAC") throw notSupported(`deriveKey: ${target.name} keys cannot be derived (HMAC can)`);
        const hash = hashOf(target.hash, "HMAC");
        const length = target.length === undefined ? hashBlockBits[hash] : Number(target.length);
        const secret = deriveWith(algorithm, baseKey, length);
        return importers.HMAC("raw", secret, { name: "HMAC", hash }, extractable, usages);
      });
    },
    generateKey(algorithm, extractable, usages) {
      return promised(() => {
        const given = algorithmOf(algorithm);
        const list = Array.from(usages ?? [], String);
        if (given.name === "HMAC") {
          const hash = hashOf(given.hash, "HMAC");
          const length = given.length === undefined ? hashBlockBits[hash] : Number(given.length);
          if (!(length > 0) || length % 8 !== 0) throw fail("generateKey: the length must be a positive multiple of 8", "OperationError");
          return importers.HMAC("raw", host.randomBytes(length / 8), { name: "HMAC", hash }, extractable, list);
        }
        const pair = (name, algorithmFields, publicMaterial, privateMaterial) => ({
          publicKey: makeKey("public", true, { name, ...algorithmFields }, list.filter((usage) => usage === "verify"), publicMaterial),
          privateKey: makeKey("private", extractable, { name, ...algorithmFields }, list.filter((usage) => usage === "sign"), privateMaterial),
        });
        if (given.name === "ECDSA") {
          const curve = String(given.namedCurve);
          if (curveBytes[curve] === undefined) throw notSupported(`generateKey: the curve ${curve} is not supported (P-256, P-384)`);
          const [pkcs8, point] = host.ecdsaGenerate(curve);
          return pair("ECDSA", { namedCurve: curve }, { point }, { pkcs8, point });
        }
        if (given.name === "Ed25519") {
          const seed = host.randomBytes(32);
          const point = host.ed25519Public(text(seed));
          return pair("Ed25519", {}, { point }, { seed, point });
        }
        throw notSupported(`generateKey: ${given.name} keys cannot be generated here`);
      });
    },
  };
  for (const [name, method] of Object.entries(methods)) {
    Object.defineProperty(SubtleCrypto.prototype, name, { value: method, writable: true, configurable: true, enumerable: true });
  }

  // passwords: argon2id hashes in PHC form, computed off the worker.
  const passwords = Object.freeze({
    hash(password, options = undefined) {
      if (typeof password !== "string") return Promise.reject(new SafeTypeError("passwords.hash: the password must be a string"));
      const settings = options && typeof options === "object" ? options : {};
      return promised(() => host.awaitHostCall(host.passwordHash(
        password,
        settings.memoryCost === undefined ? undefined : Number(settings.memoryCost),
        settings.timeCost === undefined ? undefined : Number(settings.timeCost),
        settings.parallelism === undefined ? undefined : Number(settings.parallelism),
      )));
    },
    verify(password, hash) {
      if (typeof password !== "string" || typeof hash !== "string") {
        return Promise.reject(new SafeTypeError("passwords.verify: the password and the hash must be strings"));
      }
      return promised(() => host.awaitHostCall(host.passwordVerify(password, hash))).then((result) => result === "true");
    },
  });

  const globals = { CryptoKey, passwords };
  shared.install(globals);
  return shared;
})
