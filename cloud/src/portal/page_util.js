/* The captive portal's helpers: the second part of its one script (see page.rs). ES5 only
   (old Android captive browsers), no modules, no external files. The server puts everything
   it knows in #boot (JSON). Here: storage, language, formatting, phone numbers, CHAP's
   bytes (MD5 itself is md5.js, shared with the router's login page), HTTP. */
var boot = JSON.parse(document.getElementById('boot').textContent);
var hs = boot.hs;
var KEY = 'jasiyo:' + boot.router;
/* The page asks the cloud for the payment's next move (a long poll, answered as soon as it
   changes); a cloud without that falls back to plain polling at these intervals. */
var POLL_WAIT = 1000, POLL_PAID = 500, POLL_LATE = 3000, push = true, pushFailed = 0, seen = '', quick = false;

function $(id) { return document.getElementById(id); }
function show(el, on) { if (on) { el.removeAttribute('hidden'); } else { el.setAttribute('hidden', ''); } }

/* Storage: sessionStorage and localStorage both (captive browsers clear one or the other);
   any of them may throw. */
function save(k, v) {
  var stores = [], i;
  try { stores.push(window.sessionStorage); } catch (e) {}
  try { stores.push(window.localStorage); } catch (e) {}
  for (i = 0; i < stores.length; i++) {
    try { if (v === null) { stores[i].removeItem(k); } else { stores[i].setItem(k, v); } } catch (e) {}
  }
}
function load(k) {
  var v = null;
  try { v = window.sessionStorage.getItem(k); } catch (e) {}
  if (!v) { try { v = window.localStorage.getItem(k); } catch (e) {} }
  return v;
}

/* Language: the customer's own choice, else Swahili when the browser puts it before English
   (navigator.languages; the server read Accept-Language into boot.lang), else the owner's. */
function browserSw() {
  var l = navigator.languages || [navigator.language || navigator.userLanguage || ''], i, c;
  for (i = 0; i < l.length; i++) { c = String(l[i]).toLowerCase().slice(0, 2); if (c === 'sw' || c === 'en') { return c === 'sw'; } }
  return false;
}
var lang = (load('jasiyo:lang') || (browserSw() ? 'sw' : boot.lang)) === 'sw' ? 'sw' : 'en';
function t(key, args) {
  var s = T[lang][key] || T.en[key] || T[lang].failed, k;
  if (args) { for (k in args) { if (args.hasOwnProperty(k)) { s = s.split('{' + k + '}').join(String(args[k])); } } }
  return s;
}

/* Formatting. */
function plural(n, one, many) { return n === 1 ? t(one) : t(many, { n: n }); }
function duration(secs) {
  var w = Math.floor(secs / 604800), d = Math.floor(secs / 86400), h = Math.floor(secs % 86400 / 3600), m = Math.floor(secs % 3600 / 60), out = [];
  if (secs % 604800 === 0 && w > 0) { return plural(w, 'week1', 'weekn'); }
  if (d) { out.push(plural(d, 'day1', 'dayn')); }
  if (h) { out.push(plural(h, 'hour1', 'hourn')); }
  if (m || !out.length) { out.push(plural(Math.max(m, 1), 'min1', 'minn')); }
  return out.join(' ');
}
function data(mb) {
  if (mb === null || mb === undefined) { return t('unlimited'); }
  if (mb >= 1024) { return (Math.round(mb / 102.4) / 10) + ' GB'; }
  return mb + ' MB';
}
function speed(rate) {
  /* RouterOS rate-limit is rx/tx as the router sees it: the second figure is the download. */
  if (!rate) { return ''; }
  var parts = String(rate).split(' ')[0].split('/'), v = (parts[1] || parts[0]).replace(/\s/g, ''), m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(v);
  if (!m) { return ''; }
  return t('upto', { s: m[1] + ' ' + ({ k: 'kbps', m: 'Mbps', g: 'Gbps', '': 'bps' })[m[2].toLowerCase()] });
}
/* Whether a plan's name already says these words (whole words, any case): then its details
   line leaves them out. Mirrored by plan_card.rs's `says`. */
function says(name, words) {
  var norm = function (s) { return ' ' + String(s).toLowerCase().replace(/\s+/g, ' ').replace(/^ | $/g, '') + ' '; };
  return norm(name).indexOf(norm(words)) >= 0;
}
/* A time in the customer's own clock: 14:32, tomorrow 14:32, or 12/12 14:32. */
function localTime(ms) {
  var d = new Date(ms), now = new Date(), next = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  var hm = d.getHours() + ':' + (d.getMinutes() < 10 ? '0' : '') + d.getMinutes();
  if (d.toDateString() === now.toDateString()) { return hm; }
  if (d.toDateString() === next.toDateString()) { return t('tomorrow', { t: hm }); }
  return d.getDate() + '/' + (d.getMonth() + 1) + ' ' + hm;
}
/* Text into an element, "M-Pesa" (a hyphen is a place to break) and phone numbers kept on
   one line. */
function put(el, text) {
  var parts = String(text).split(/(M-Pesa|0\d{3} \d{3} \d{3})/), i, s;
  el.textContent = parts[0];
  for (i = 1; i < parts.length; i += 2) {
    s = document.createElement('span'); s.className = 'nw'; s.textContent = parts[i];
    el.appendChild(s); el.appendChild(document.createTextNode(parts[i + 1] || ''));
  }
}
function clock(secs) { var s = Math.max(0, Math.ceil(secs)); return Math.floor(s / 60) + ':' + (s % 60 < 10 ? '0' : '') + (s % 60); }

/* Phone numbers: the same rules as the server (cloud/src/payments/phone.rs). */
function parsePhone(typed) {
  var c = String(typed).replace(/[ \-().]/g, ''), d, rest, nat;
  if (!c) { return { err: 'phone_empty' }; }
  d = c.charAt(0) === '+' ? c.slice(1) : c;
  if (!/^[0-9]*$/.test(d)) { return { err: 'phone_digits' }; }
  if (d.indexOf('254') === 0) { rest = d.slice(3); nat = rest.length === 10 && rest.charAt(0) === '0' ? rest.slice(1) : rest; }
  else if (d.charAt(0) === '0') { nat = d.slice(1); } else { nat = d; }
  if (nat.length !== 9) { return { err: 'phone_length' }; }
  if (nat.charAt(0) !== '7' && nat.charAt(0) !== '1') { return { err: 'phone_mobile' }; }
  return { msisdn: '254' + nat };
}
/* 254712345678 as a Kenyan writes it: 0712 345 678. */
function local(msisdn) { var n = msisdn.slice(3); return '0' + n.slice(0, 3) + ' ' + n.slice(3, 6) + ' ' + n.slice(6); }
function operator(msisdn) {
  var n = parseInt(msisdn.slice(3, 6), 10);
  if ((n >= 730 && n <= 739) || (n >= 750 && n <= 756) || (n >= 785 && n <= 789) || (n >= 100 && n <= 102)) { return 'Airtel'; }
  if (n >= 770 && n <= 779) { return 'Telkom'; }
  if (n >= 763 && n <= 766) { return 'Equitel'; }
  return null;
}

function unhex(h) { var s = '', i; for (i = 0; i + 1 < h.length; i += 2) { s += String.fromCharCode(parseInt(h.substr(i, 2), 16)); } return s; }
window.jasiyoMd5 = md5;

/* HTTP: XMLHttpRequest, JSON both ways; cb(status, body) with status 0 on network errors. */
function api(method, url, body, cb, viewKey) {
  var x = new XMLHttpRequest(), done = false;
  function finish(status, text) {
    if (done) { return; }
    done = true;
    var parsed = null;
    try { parsed = JSON.parse(text); } catch (e) {}
    cb(status, parsed);
  }
  x.open(method, url, true);
  x.timeout = 15000;
  x.onreadystatechange = function () { if (x.readyState === 4) { finish(x.status, x.responseText); } };
  x.ontimeout = function () { finish(0, null); };
  x.onerror = function () { finish(0, null); };
  if (body) { x.setRequestHeader('Content-Type', 'application/json'); }
  if (viewKey) { x.setRequestHeader('X-View-Key', viewKey); }
  x.send(body ? JSON.stringify(body) : null);
}
function randomKey() {
  var s = '', i, bytes = null;
  try { bytes = new Uint8Array(16); (window.crypto || window.msCrypto).getRandomValues(bytes); } catch (e) { bytes = null; }
  for (i = 0; i < 16; i++) { var v = bytes ? bytes[i] : Math.floor(Math.random() * 256); s += (v < 16 ? '0' : '') + v.toString(16); }
  return s;
}

