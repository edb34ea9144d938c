// The guest's page. The link's secret is in the URL fragment (after "#"), which the
// browser never sends anywhere; this script seals every request to the home's session
// key (ECDH P-256, HKDF-SHA256, AES-256-GCM) under a challenge the home issued, so the
// bridge that serves this page and relays its requests can read none of them, nor the
// home's answers. docs/protocol.md ("Guest links") is the contract; the test vectors in
// docs/protocol/vectors.json are checked against this file in a real browser.
"use strict";
(() => {
  const KDF_INFO = "keyholder-guest-session-v1";
  const REQUEST_AAD = "keyholder-guest-request-v1";
  const RESPONSE_AAD = "keyholder-guest-response-v1";
  const utf8 = new TextEncoder();
  const REASONS = {
    allowed: "The door is open. Please close it behind you.",
    outside_window: "This link does not open the door at this time.",
    not_yet_valid: "This link is not valid yet.",
    expired: "This link has expired.",
    revoked: "This link has been withdrawn.",
    uses_exhausted: "This link has been used up.",
    unknown_door: "This link does not open that door.",
    door_not_in_grant: "This link does not open that door.",
    replayed: "This request was already used. Please try again.",
    request_expired: "This request took too long. Please try again.",
    visits_paused: "The household is not accepting visits right now.",
    camera_unavailable: "The door's camera is not working, so it cannot be opened remotely.",
    camera_stale: "The door's camera is not working, so it cannot be opened remotely.",
    door_unavailable: "The door cannot be opened right now.",
    car_not_home: "The car is not at home.",
  };
  const FAILURES = {
    unknown_link: "This link is not valid.",
    incomplete_link: "This link is not complete. Please open the whole link you were sent.",
    insecure: "This page needs a secure (https) connection.",
    rate_limited: "Too many attempts. Please try again later.",
    home_offline: "The home cannot be reached right now. Please try again in a moment.",
    home_timeout: "The home cannot be reached right now. Please try again in a moment.",
  };

  function b64u(bytes) {
    let text = "";
    for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function unb64u(text) {
    if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("not base64url");
    const plain = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(plain, (c) => c.charCodeAt(0));
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  // The two AES-GCM keys of one request, from the page's ECDH private key.
  async function sessionKeys(pagePrivate, pageRaw, homeRaw, challenge) {
    const subtle = crypto.subtle;
    const home = await subtle.importKey("raw", homeRaw, { name: "ECDH", namedCurve: "P-256" }, false, []);
    const shared = await subtle.deriveBits({ name: "ECDH", public: home }, pagePrivate, 256);
    const ikm = await subtle.importKey("raw", shared, "HKDF", false, ["deriveBits"]);
    const info = concat(utf8.encode(KDF_INFO), pageRaw, homeRaw);
    const okm = new Uint8Array(
      await subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: challenge, info }, ikm, 512),
    );
    return {
      request: await subtle.importKey("raw", okm.slice(0, 32), "AES-GCM", false, ["encrypt"]),
      response: await subtle.importKey("raw", okm.slice(32), "AES-GCM", false, ["decrypt"]),
    };
  }

  // Seal ``plaintext`` (a string) for the home; the page's key pair is new unless given.
  async function seal(homeRaw, challenge, plaintext, pageKeys, iv) {
    const pair = pageKeys || (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]));
    const pageRaw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    const keys = await sessionKeys(pair.privateKey, pageRaw, homeRaw, challenge);
    const nonce = iv || crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: utf8.encode(REQUEST_AAD) },
      keys.request,
      utf8.encode(plaintext),
    );
    return {
      body: { challenge: b64u(challenge), public_key: b64u(pageRaw), iv: b64u(nonce), ciphertext: b64u(sealed) },
      keys,
    };
  }

  async function openAnswer(keys, answer) {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: unb64u(answer.iv), additionalData: utf8.encode(RESPONSE_AAD) },
      keys.response,
      unb64u(answer.ciphertext),
    );
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain));
  }

  // For the test vectors: the page's key pair from a JWK private key.
  async function pageKeysFromJwk(jwk) {
    const privateKey = await crypto.subtle.importKey("jwk", jwk, { name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
    const { d, ...publicJwk } = jwk;
    const publicKey = await crypto.subtle.importKey("jwk", publicJwk, { name: "ECDH", namedCurve: "P-256" }, true, []);
    return { privateKey, publicKey };
  }

  class Refused extends Error {
    constructor(code) {
      super(code);
      this.code = code;
    }
  }

  async function post(path, body) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
    let data = {};
    try {
      data = await response.json();
    } catch (err) {
      data = {};
    }
    if (!response.ok) throw new Refused((data.error && data.error.code) || "refused");
    return data;
  }

  // One sealed request to the home: a fresh challenge, the request, the answer.
  async function ask(link, request) {
    const base = location.pathname.replace(/\/+$/, "");
    const { challenge } = await post(`${base}/challenge`, {});
    const plaintext = JSON.stringify({ grant: link.grant, secret: link.secret, ...request });
    const { body, keys } = await seal(link.homeKey, unb64u(challenge), plaintext);
    return openAnswer(keys, await post(`${base}/request`, body));
  }

  function parseLink(fragment) {
    const parts = fragment.replace(/^#/, "").split(".");
    if (parts.length !== 4 || parts[0] !== "1" || !/^[0-9a-f]{1,64}$/.test(parts[1])) return null;
    try {
      const homeKey = unb64u(parts[3]);
      unb64u(parts[2]);
      return homeKey.length === 65 ? { grant: parts[1], secret: parts[2], homeKey } : null;
    } catch (err) {
      return null;
    }
  }

  function show(code, text) {
    const result = document.getElementById("result");
    result.dataset.code = code;
    result.textContent = text;
    result.hidden = false;
  }

  function failed(err) {
    const code = err instanceof Refused ? err.code : "home_error";
    show(code, FAILURES[code] || "Something went wrong. Please try again.");
  }

  function render(link, info) {
    document.getElementById("home").textContent = info.home || "Home";
    const guest = document.getElementById("guest");
    guest.textContent = "";
    guest.append("For ", Object.assign(document.createElement("strong"), { textContent: info.guest || "" }));
    guest.hidden = false;
    const lines = document.getElementById("window-lines");
    lines.replaceChildren(...(info.window || []).map((line) => Object.assign(document.createElement("li"), { textContent: String(line) })));
    document.getElementById("window").hidden = false;
    if (info.status && info.status !== "active") show(info.status, `Status: ${info.status}`);
    const doors = document.getElementById("doors");
    doors.replaceChildren(
      ...(info.doors || []).map((door) => {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = `Open ${door.name}`;
        button.addEventListener("click", () => openDoor(link, door.id, button));
        return button;
      }),
    );
  }

  async function openDoor(link, doorId, button) {
    button.disabled = true;
    try {
      const answer = await ask(link, { op: "open", door_id: doorId });
      show(answer.reason, REASONS[answer.reason] || "The door cannot be opened with this link.");
    } catch (err) {
      failed(err);
    } finally {
      button.disabled = false;
    }
  }

  async function start() {
    const link = parseLink(location.hash);
    if (!link) return show("incomplete_link", FAILURES.incomplete_link);
    if (!window.isSecureContext || !crypto.subtle) return show("insecure", FAILURES.insecure);
    try {
      render(link, await ask(link, { op: "describe" }));
    } catch (err) {
      failed(err);
    }
  }

  window.KeyholderGuest = { seal, openAnswer, pageKeysFromJwk, b64u, unb64u };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
