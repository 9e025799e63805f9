/**
 * The tracking server's trust rules as pure functions: Host patterns, origins, defaults.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultAllowedHosts, isAllowedHost, isAllowedOrigin, isSameOrigin, parseList, parseXFrameOptions } from './security-policy.js';

describe('Host patterns', () => {
  test('a name without a port matches it on any port; with a port, only that port', () => {
    assert.ok(isAllowedHost(['tracking'], 'tracking:5000'));
    assert.ok(isAllowedHost(['tracking'], 'tracking'));
    assert.ok(isAllowedHost(['tracking:5000'], 'tracking:5000'));
    assert.ok(!isAllowedHost(['tracking:5000'], 'tracking:5001'));
    assert.ok(!isAllowedHost(['tracking'], 'tracking.attacker.example:5000'));
  });

  test('wildcards, IPv6 in both spellings, case, and a lone "*"', () => {
    assert.ok(isAllowedHost(['*.corp.example'], 'ml.corp.example:443'));
    assert.ok(!isAllowedHost(['*.corp.example'], 'corp.example.attacker.example'));
    assert.ok(isAllowedHost(['192.168.*'], '192.168.1.7:5000'));
    assert.ok(isAllowedHost(['localhost:*'], 'localhost:9'));
    assert.ok(isAllowedHost(['::1'], '[::1]:5000'));
    assert.ok(isAllowedHost(['[::1]'], '[::1]'));
    assert.ok(isAllowedHost(['LocalHost'], 'LOCALHOST:5000'));
    assert.ok(isAllowedHost(['*'], 'anything'));
    assert.ok(isAllowedHost(['*'], undefined));
  });

  test('a missing or malformed Host is never allowed', () => {
    for (const host of [undefined, '', 'localhost:5000@evil', 'localhost/x', 'local host', 'localhost:99999999']) {
      assert.ok(!isAllowedHost(['localhost', 'localhost:*'], host), String(host));
    }
  });

  test('defaults: loopback names plus the bound host; a wildcard bind adds this machine\'s addresses', () => {
    assert.deepEqual(defaultAllowedHosts(), ['localhost', '127.0.0.1', '[::1]']);
    assert.deepEqual(defaultAllowedHosts('10.1.2.3'), ['localhost', '127.0.0.1', '[::1]', '10.1.2.3']);
    assert.deepEqual(defaultAllowedHosts('fe80::1'), ['localhost', '127.0.0.1', '[::1]', '[fe80::1]']);
    const wide = defaultAllowedHosts('0.0.0.0');
    assert.ok(wide.length > 3 && wide.includes('127.0.0.1'));
    assert.ok(!wide.includes('*'));
    assert.ok(!isAllowedHost(wide, 'attacker.example:5000'));
  });
});

describe('origins', () => {
  test('the server\'s own pages: Origin names the Host the request went to (default ports folded)', () => {
    assert.ok(isSameOrigin('http://127.0.0.1:5000', '127.0.0.1:5000'));
    assert.ok(isSameOrigin('http://localhost', 'localhost:80'));
    assert.ok(isSameOrigin('https://ml.corp.example', 'ml.corp.example'));
    assert.ok(!isSameOrigin('http://127.0.0.1:5001', '127.0.0.1:5000'));
    assert.ok(!isSameOrigin('http://localhost:5000', '127.0.0.1:5000'));
    assert.ok(!isSameOrigin('null', '127.0.0.1:5000'));
    assert.ok(!isSameOrigin('file://', 'localhost'));
    assert.ok(!isSameOrigin('http://127.0.0.1:5000', undefined));
  });

  test('allowed lists: exact origins, wildcards, "*"; never "null" unless "*"', () => {
    const list = ['https://app.corp.example', 'http://localhost:*', 'https://*.corp.example'];
    assert.ok(isAllowedOrigin(list, 'https://app.corp.example', 'tracking:5000'));
    assert.ok(isAllowedOrigin(list, 'http://localhost:3000', 'tracking:5000'));
    assert.ok(isAllowedOrigin(list, 'https://x.corp.example', 'tracking:5000'));
    assert.ok(!isAllowedOrigin(list, 'http://app.corp.example', 'tracking:5000'));
    assert.ok(!isAllowedOrigin(list, 'https://app.corp.example.attacker.example', 'tracking:5000'));
    assert.ok(!isAllowedOrigin([], 'null', 'tracking:5000'));
    assert.ok(isAllowedOrigin(['*'], 'https://anyone.example', 'tracking:5000'));
    assert.ok(!isAllowedOrigin([], 'http://localhost:3000', 'localhost:5000'), 'other local ports are other origins');
  });
});

describe('flag values', () => {
  test('comma lists drop blanks; X-Frame-Options is one of MLflow\'s three values', () => {
    assert.deepEqual(parseList(' a, ,b ,'), ['a', 'b']);
    assert.equal(parseList(''), undefined);
    assert.equal(parseList(undefined), undefined);
    assert.equal(parseXFrameOptions('deny'), 'DENY');
    assert.equal(parseXFrameOptions('SameOrigin'), 'SAMEORIGIN');
    assert.throws(() => parseXFrameOptions('ALLOW-FROM x'), /must be one of SAMEORIGIN, DENY, NONE/);
  });
});
