/* MD5 in ES5 for RouterOS CHAP logins, shared by the captive portal's script (page.rs) and
   the router's own login page (login_page.rs). Strict-mode safe, no globals but md5. Never a
   dollar sign before a parenthesis: RouterOS fills those in on its pages.
   md5(s): MD5 of a binary string (char codes 0-255), as lower-case hex. */
function md5(s) {
  var n = s.length, x = [], i, j, K = [], S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
  var a = 1732584193, b = -271733879, c = -1732584194, d = 271733878, aa, bb, cc, dd, f, g, tmp, r, hex = '';
  function add(p, q) { var l = (p & 0xffff) + (q & 0xffff); return (((p >> 16) + (q >> 16) + (l >> 16)) << 16) | (l & 0xffff); }
  for (i = 0; i < 64; i++) { K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 4294967296) | 0; }
  var total = (((n + 8) >> 6) + 1) * 16;
  for (i = 0; i < total; i++) { x[i] = 0; }
  for (i = 0; i < n; i++) { x[i >> 2] |= (s.charCodeAt(i) & 0xff) << ((i % 4) * 8); }
  x[n >> 2] |= 0x80 << ((n % 4) * 8);
  x[total - 2] = n * 8;
  for (i = 0; i < total; i += 16) {
    aa = a; bb = b; cc = c; dd = d;
    for (j = 0; j < 64; j++) {
      r = j >> 4;
      if (r === 0) { f = (b & c) | (~b & d); g = j; }
      else if (r === 1) { f = (d & b) | (~d & c); g = (5 * j + 1) % 16; }
      else if (r === 2) { f = b ^ c ^ d; g = (3 * j + 5) % 16; }
      else { f = c ^ (b | ~d); g = (7 * j) % 16; }
      tmp = d; d = c; c = b;
      f = add(add(a, f), add(K[j], x[i + g]));
      b = add(b, (f << S[r * 4 + j % 4]) | (f >>> (32 - S[r * 4 + j % 4])));
      a = tmp;
    }
    a = add(a, aa); b = add(b, bb); c = add(c, cc); d = add(d, dd);
  }
  var words = [a, b, c, d];
  for (i = 0; i < 4; i++) { for (j = 0; j < 4; j++) { tmp = (words[i] >>> (j * 8)) & 0xff; hex += (tmp < 16 ? '0' : '') + tmp.toString(16); } }
  return hex;
}
