/* The captive portal's script: ES5 only (old Android captive browsers), no modules, no
   external files. The server puts everything it knows in #boot (JSON). */
(function () {
'use strict';
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

/* Words, English and Swahili. */
var T = {
  en: {
    tagline: 'Pay with M-Pesa and get online', choose: 'Choose a plan', phone: 'M-Pesa phone number',
    howto: 'You will get an M-Pesa prompt on your phone. No money is taken unless you enter your PIN.',
    pay: 'Pay', payn: 'Pay KES {n}', already: 'Already paid? Reconnect with your M-Pesa code',
    check: 'Check your phone and enter your M-Pesa PIN', left: 'left to approve',
    unconfirmed: 'M-Pesa did not confirm the prompt. If your phone shows it, enter your PIN; do not pay again.',
    s1: 'Waiting for approval', s2: 'Payment received', s3: 'Activating on the router', s4: 'Online',
    received: 'Payment received. Switching on your internet\u2026', activating: 'Activating on the router\u2026',
    slow: 'Your payment is safe. The router is slow to answer; you will be connected as soon as it does.',
    nomoney: 'No money is taken if you do not approve the prompt.',
    retry: 'Try again', change: 'Choose another plan or number', online: 'You\u2019re online!',
    going: 'Logging you in\u2026', manual: 'Your login details (keep them for this plan):',
    user: 'Username', pass: 'Password', until: 'Valid until {t}', login: 'Log in now',
    rectitle: 'Already paid?', rechelp: 'Type the M-Pesa code from your payment SMS (10 letters and numbers, like SJK3X9Y2ZQ). Your plan moves to this phone.',
    code: 'M-Pesa code', recphone: 'Phone number that paid', reconnect: 'Reconnect', back: 'Back to plans',
    foot: 'Payments by M-Pesa. No money is taken without your PIN.', noplans: 'No plans are on sale here right now. Please ask the shop.',
    unlimited: 'Unlimited data', upto: 'up to {s}',
    min1: '1 minute', minn: '{n} minutes', hour1: '1 hour', hourn: '{n} hours', day1: '1 day', dayn: '{n} days', week1: '1 week', weekn: '{n} weeks',
    pickplan: 'Choose a plan first.',
    phone_empty: 'Enter the M-Pesa phone number to pay with.',
    phone_digits: 'A phone number has only digits, like 0712 345 678.',
    phone_length: 'That number has the wrong length: use 10 digits like 0712 345 678.',
    phone_mobile: 'That is not a Kenyan mobile number: it should start with 07 or 01.',
    op_hint: 'This looks like an {op} number; M-Pesa prompts reach Safaricom lines only.',
    cancelled: 'You cancelled the M-Pesa prompt. No money was taken.',
    wrong_pin: 'The M-Pesa PIN was wrong. No money was taken. Try again and enter your PIN carefully.',
    insufficient_funds: 'Your M-Pesa balance is too low for this plan. No money was taken. Top up, or choose a cheaper plan.',
    limit_exceeded: 'This payment is over your M-Pesa limit. No money was taken.',
    busy: 'M-Pesa is busy right now. No money was taken. Please try again in a minute.',
    timeout: 'The M-Pesa prompt timed out before the PIN was entered. No money was taken.',
    provider: 'M-Pesa could not take this payment. No money was taken. Please try again.',
    failed: 'The payment did not go through. No money was taken. Please try again.',
    stillopen: 'Your earlier M-Pesa prompt is still open. Check your phone and approve it or press Cancel there, then try again.',
    prompt_in_flight: 'An M-Pesa prompt is already waiting on this phone. Approve it or press Cancel there, then try again.',
    timeout_late: 'The M-Pesa prompt timed out: we did not hear back in time. If you did not enter your PIN, no money was taken. If you did, stay on this page: you will be connected as soon as M-Pesa confirms.',
    paid_failed: 'You have paid (M-Pesa code {r}), but the router could not switch you on. Use \u201cAlready paid?\u201d with your code, or show it to the shop.',
    rate_limited: 'Too many tries. Please wait a few minutes and try again.',
    provider_busy: 'M-Pesa is busy right now. Please try again in a minute.',
    provider_error: 'We could not reach M-Pesa. No money was taken. Please try again.',
    payments_not_configured: 'This WiFi cannot take payments yet. Please tell the shop.',
    router_not_found: 'This WiFi is not registered for payments. Please tell the shop.',
    plan_not_found: 'That plan is no longer on sale. Please choose another.',
    network: 'No connection to the payment service. Check that you are still on this WiFi and try again.',
    internal: 'Something went wrong on our side. Please try again.',
    invalid_receipt: 'An M-Pesa code has 10 letters and numbers, like SJK3X9Y2ZQ. It is at the start of the M-Pesa SMS.',
    receipt_not_found: 'We found no payment with that M-Pesa code on this WiFi. Check the code in your M-Pesa SMS.',
    phone_needed: 'Type the phone number that paid as well as the M-Pesa code.',
    moved_today: 'This plan already moved to another device today. Ask the shop to allow another move.',
    receipt_expired: 'The plan bought with that M-Pesa code has ended. Choose a new plan to get online.',
    no_device: 'Open this page from the WiFi login page, so we know which phone to connect.',
    conflict: 'That plan was just moved to another phone. Try again.',
    routererr: 'The WiFi said: {e}'
  },
  sw: {
    tagline: 'Lipa kwa M-Pesa uingie mtandaoni', choose: 'Chagua kifurushi', phone: 'Nambari ya simu ya M-Pesa',
    howto: 'Utapokea ombi la M-Pesa kwenye simu yako. Hakuna pesa itakayotolewa usipoweka PIN yako.',
    pay: 'Lipa', payn: 'Lipa KES {n}', already: 'Umeshalipa? Unganisha tena kwa msimbo wa M-Pesa',
    check: 'Angalia simu yako na uweke PIN yako ya M-Pesa', left: 'zimebaki kuidhinisha',
    unconfirmed: 'M-Pesa haikuthibitisha ombi. Likionekana kwenye simu yako, weka PIN yako; usilipe tena.',
    s1: 'Tunasubiri uidhinishe', s2: 'Malipo yamepokelewa', s3: 'Tunawasha kwenye router', s4: 'Uko mtandaoni',
    received: 'Malipo yamepokelewa. Tunawasha intaneti yako\u2026', activating: 'Tunawasha kwenye router\u2026',
    slow: 'Malipo yako yako salama. Router inachelewa kujibu; utaunganishwa mara itakapojibu.',
    nomoney: 'Hakuna pesa itakayotolewa usipoidhinisha ombi.',
    retry: 'Jaribu tena', change: 'Chagua kifurushi au nambari nyingine', online: 'Uko mtandaoni!',
    going: 'Tunakuingiza\u2026', manual: 'Maelezo yako ya kuingia (yahifadhi kwa kifurushi hiki):',
    user: 'Jina la mtumiaji', pass: 'Nenosiri', until: 'Kinadumu hadi {t}', login: 'Ingia sasa',
    rectitle: 'Umeshalipa?', rechelp: 'Andika msimbo wa M-Pesa kutoka kwenye SMS ya malipo (herufi na tarakimu 10, kama SJK3X9Y2ZQ). Kifurushi chako kitahamia simu hii.',
    code: 'Msimbo wa M-Pesa', recphone: 'Nambari ya simu iliyolipa', reconnect: 'Unganisha tena', back: 'Rudi kwenye vifurushi',
    foot: 'Malipo kwa M-Pesa. Hakuna pesa inayotolewa bila PIN yako.', noplans: 'Hakuna vifurushi vinavyouzwa hapa kwa sasa. Tafadhali uliza dukani.',
    unlimited: 'Data bila kikomo', upto: 'hadi {s}',
    min1: 'dakika 1', minn: 'dakika {n}', hour1: 'saa 1', hourn: 'saa {n}', day1: 'siku 1', dayn: 'siku {n}', week1: 'wiki 1', weekn: 'wiki {n}',
    pickplan: 'Chagua kifurushi kwanza.',
    phone_empty: 'Weka nambari ya simu ya M-Pesa ya kulipia.',
    phone_digits: 'Nambari ya simu ina tarakimu pekee, kama 0712 345 678.',
    phone_length: 'Nambari hiyo ina urefu usio sahihi: tumia tarakimu 10 kama 0712 345 678.',
    phone_mobile: 'Hiyo si nambari ya simu ya Kenya: inapaswa kuanza na 07 au 01.',
    op_hint: 'Hii inaonekana kuwa nambari ya {op}; maombi ya M-Pesa hufika kwenye laini za Safaricom pekee.',
    cancelled: 'Ulighairi ombi la M-Pesa. Hakuna pesa iliyotolewa.',
    wrong_pin: 'PIN ya M-Pesa haikuwa sahihi. Hakuna pesa iliyotolewa. Jaribu tena na uweke PIN kwa makini.',
    insufficient_funds: 'Salio lako la M-Pesa halitoshi kwa kifurushi hiki. Hakuna pesa iliyotolewa. Ongeza salio, au chagua kifurushi cha bei nafuu.',
    limit_exceeded: 'Malipo haya yamezidi kikomo chako cha M-Pesa. Hakuna pesa iliyotolewa.',
    busy: 'M-Pesa ina shughuli nyingi sasa. Hakuna pesa iliyotolewa. Tafadhali jaribu tena baada ya dakika moja.',
    timeout: 'Muda wa ombi la M-Pesa umekwisha kabla ya kuweka PIN. Hakuna pesa iliyotolewa.',
    provider: 'M-Pesa haikuweza kupokea malipo haya. Hakuna pesa iliyotolewa. Tafadhali jaribu tena.',
    failed: 'Malipo hayakufanikiwa. Hakuna pesa iliyotolewa. Tafadhali jaribu tena.',
    stillopen: 'Ombi lako la awali la M-Pesa bado liko wazi. Angalia simu yako uliidhinishe au ubonyeze Cancel, kisha ujaribu tena.',
    prompt_in_flight: 'Ombi la M-Pesa tayari linasubiri kwenye simu hii. Liidhinishe au ubonyeze Cancel huko, kisha ujaribu tena.',
    timeout_late: 'Muda wa ombi la M-Pesa umekwisha: hatukupata jibu kwa wakati. Kama hukuweka PIN, hakuna pesa iliyotolewa. Kama uliweka, baki kwenye ukurasa huu: utaunganishwa mara M-Pesa itakapothibitisha.',
    paid_failed: 'Umelipa (msimbo wa M-Pesa {r}), lakini router haikuweza kukuwashia. Tumia \u201cUmeshalipa?\u201d na msimbo wako, au uonyeshe dukani.',
    rate_limited: 'Umejaribu mara nyingi mno. Tafadhali subiri dakika chache kisha ujaribu tena.',
    provider_busy: 'M-Pesa ina shughuli nyingi sasa. Tafadhali jaribu tena baada ya dakika moja.',
    provider_error: 'Hatukuweza kufikia M-Pesa. Hakuna pesa iliyotolewa. Tafadhali jaribu tena.',
    payments_not_configured: 'WiFi hii bado haiwezi kupokea malipo. Tafadhali mwambie mwenye duka.',
    router_not_found: 'WiFi hii haijasajiliwa kwa malipo. Tafadhali mwambie mwenye duka.',
    plan_not_found: 'Kifurushi hicho hakiuzwi tena. Tafadhali chagua kingine.',
    network: 'Hakuna muunganisho na huduma ya malipo. Hakikisha bado uko kwenye WiFi hii kisha ujaribu tena.',
    internal: 'Kuna hitilafu upande wetu. Tafadhali jaribu tena.',
    invalid_receipt: 'Msimbo wa M-Pesa una herufi na tarakimu 10, kama SJK3X9Y2ZQ. Uko mwanzoni mwa SMS ya M-Pesa.',
    receipt_not_found: 'Hatukupata malipo yenye msimbo huo wa M-Pesa kwenye WiFi hii. Angalia msimbo kwenye SMS yako ya M-Pesa.',
    phone_needed: 'Andika nambari ya simu iliyolipa pamoja na msimbo wa M-Pesa.',
    moved_today: 'Kifurushi hiki tayari kimehamishiwa kifaa kingine leo. Mwombe mwenye duka aruhusu kuhamisha tena.',
    receipt_expired: 'Kifurushi kilichonunuliwa kwa msimbo huo kimekwisha. Chagua kifurushi kipya ili uingie mtandaoni.',
    no_device: 'Fungua ukurasa huu kutoka kwenye ukurasa wa kuingia wa WiFi, ili tujue tuunganishe simu gani.',
    conflict: 'Kifurushi hicho kimehamishiwa simu nyingine sasa hivi. Jaribu tena.',
    routererr: 'WiFi imesema: {e}'
  }
};
var lang = (load('jasiyo:lang') || boot.lang) === 'sw' ? 'sw' : 'en';
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
function operator(msisdn) {
  var n = parseInt(msisdn.slice(3, 6), 10);
  if ((n >= 730 && n <= 739) || (n >= 750 && n <= 756) || (n >= 785 && n <= 789) || (n >= 100 && n <= 102)) { return 'Airtel'; }
  if (n >= 770 && n <= 779) { return 'Telkom'; }
  if (n >= 763 && n <= 766) { return 'Equitel'; }
  return null;
}

/* MD5 of a binary string (char codes 0-255), hex: for RouterOS CHAP logins. */
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

/* Screens: choose, wait, result, done, recover (body[data-state] tells tests which). */
var screens = ['choose', 'wait', 'result', 'done', 'recover'];
function screen(name, state) {
  for (var i = 0; i < screens.length; i++) { show($(screens[i]), screens[i] === name); }
  document.body.setAttribute('data-state', state || name);
}

/* Messages are kept as keys so a language switch rewords them. */
var current = { msg: null, notice: null, payErr: null, recErr: null, phoneErr: null, hint: null, waitText: 'check' };
function setText(el, key, args) {
  if (key) { el.textContent = t(key, args); show(el, true); } else { el.textContent = ''; show(el, false); }
}
function render() {
  var i, els = document.querySelectorAll('[data-t]');
  document.documentElement.lang = lang;
  for (i = 0; i < els.length; i++) { els[i].textContent = t(els[i].getAttribute('data-t')); }
  $('lang').textContent = lang === 'en' ? 'Kiswahili' : 'English';
  $('lang').setAttribute('lang', lang === 'en' ? 'sw' : 'en');
  renderPlans();
  updatePayLabel();
  setText($('notice'), current.notice && current.notice.key, current.notice && current.notice.args);
  setText($('phoneerr'), current.phoneErr);
  setText($('phonehint'), current.hint && 'op_hint', current.hint && { op: current.hint });
  setText($('recerr'), current.recErr);
  setPayErr(current.payErr);
  if (current.msg) { $('msg').textContent = t(current.msg.key, current.msg.args); }
  $('waittitle').textContent = t(current.waitText);
  if (lastLogin) { showCreds(lastLogin); }
}

/* Plans: in the owner's order, as the server lists them. */
var selected = null;
function renderPlans() {
  var box = $('plans'), i, p, parts, id;
  if (!boot.plans.length) { box.textContent = t('noplans'); return; }
  box.innerHTML = '';
  for (i = 0; i < boot.plans.length; i++) {
    p = boot.plans[i];
    id = 'plan-' + i;
    var label = document.createElement('label');
    label.className = 'plan' + (selected === p.id ? ' on' : '');
    label.setAttribute('for', id);
    var input = document.createElement('input');
    input.type = 'radio'; input.name = 'plan'; input.id = id; input.value = p.id; input.checked = selected === p.id;
    input.onchange = onPlan;
    var price = document.createElement('span'); price.className = 'price'; price.textContent = 'KES ' + p.price_kes;
    var name = document.createElement('span'); name.className = 'pname'; name.textContent = p.name;
    parts = [duration(p.duration_secs), data(p.data_mb)];
    if (speed(p.rate_limit)) { parts.push(speed(p.rate_limit)); }
    var det = document.createElement('span'); det.className = 'pdet'; det.textContent = parts.join(' \u00b7 ');
    label.appendChild(input); label.appendChild(price); label.appendChild(name); label.appendChild(det);
    box.appendChild(label);
  }
}
function planById(id) { for (var i = 0; i < boot.plans.length; i++) { if (boot.plans[i].id === id) { return boot.plans[i]; } } return null; }
function onPlan() {
  var inputs = document.getElementsByName('plan'), i;
  for (i = 0; i < inputs.length; i++) { if (inputs[i].checked) { selected = inputs[i].value; } }
  var labels = $('plans').getElementsByTagName('label');
  for (i = 0; i < labels.length; i++) { labels[i].className = 'plan' + (inputs[i].checked ? ' on' : ''); }
  setPayErr(null);
  updatePayLabel();
}
function setPayErr(err) {
  current.payErr = err;
  if (err && err.text) { $('payerr').textContent = err.text; show($('payerr'), true); } else { setText($('payerr'), err && err.key); }
}
function updatePayLabel() { var p = planById(selected); $('pay').textContent = p ? t('payn', { n: p.price_kes }) : t('pay'); }

function checkPhone(final) {
  var v = $('phone').value, r = parsePhone(v);
  if (r.err && (final || v.replace(/\s/g, '').length >= 9 || /[^0-9+ \-().]/.test(v))) {
    current.phoneErr = r.err; $('phone').setAttribute('aria-invalid', 'true');
  } else { current.phoneErr = null; $('phone').removeAttribute('aria-invalid'); }
  current.hint = r.msisdn ? operator(r.msisdn) : null;
  setText($('phoneerr'), current.phoneErr);
  setText($('phonehint'), current.hint && 'op_hint', current.hint && { op: current.hint });
  return r;
}

/* Paying. */
var attempt = null;     /* {key, plan, phone} of the payment being started */
var paymentId = null;   /* the payment being followed */
var viewKey = null;     /* its view key: only with it does the cloud show the login */
var timer = null, tick = null, deadline = 0, total = 0, lastLogin = null, busy = false;

function pay() {
  if (busy) { return; }
  if (!selected) { setPayErr({ key: 'pickplan' }); return; }
  var r = checkPhone(true);
  if (r.err) { $('phone').focus(); return; }
  attempt = { key: randomKey(), plan: selected, phone: $('phone').value };
  save(KEY + ':attempt', JSON.stringify(attempt));
  send();
}
function send() {
  busy = true;
  $('pay').disabled = true;
  setPayErr(null);
  api('POST', '/api/portal/' + boot.router + '/payments',
    { plan_id: attempt.plan, phone: attempt.phone, mac: hs.mac, ip: hs.ip, idempotency_key: attempt.key },
    function (status, body) {
      busy = false;
      $('pay').disabled = false;
      if ((status === 201 || status === 202) && body && body.id) { follow(body.id, body, false, false, body.view_key); return; }
      var code = body && body.error;
      /* One prompt at a time: the answer names nobody's payment; this page resumes its own. */
      var own = paymentId || load(KEY);
      if (status === 409 && code === 'prompt_in_flight' && own) { follow(own, null, true, false, viewKey || load(KEY + ':vk')); return; }
      save(KEY + ':attempt', null);
      if (code === 'invalid_phone' || code === 'bad_request') { screen('choose'); setPayErr({ text: body.message }); return; }
      if (code && code.indexOf('rate_limited') === 0) { code = 'rate_limited'; }
      if (code === 'plan_not_found') { selected = null; renderPlans(); }
      fail(T.en[code] ? code : (status === 0 ? 'network' : 'internal'), null, true);
    });
}

function follow(id, view, resumed, paid, key) {
  paymentId = id;
  viewKey = key || null;
  seen = '';
  save(KEY, id);
  save(KEY + ':vk', viewKey);
  var hash = '#p=' + id + (viewKey ? '&k=' + viewKey : '');
  try { if (window.history && history.replaceState) { history.replaceState(null, '', hash); } else { location.hash = hash.substring(1); } } catch (e) {}
  current.msg = null;
  current.waitText = paid ? 'received' : 'check';
  current.late = false;
  current.resumed = !!resumed;
  $('waittitle').textContent = t(current.waitText);
  show($('countbox'), false);
  show($('waitnote'), !paid);
  screen('wait');
  steps(paid ? 'payment_received' : 'waiting_for_approval');
  if (view) { onView(view); } else { poll(); }
}
function poll() {
  clearTimeout(timer);
  if (!paymentId) { return; }
  var id = paymentId, url = '/api/portal/payments/' + id, asked = new Date().getTime(), was = seen;
  if (push) { url += '/next?seen=' + encodeURIComponent(seen); }
  api('GET', url, null, function (status, view) {
    if (id !== paymentId) { return; }
    if (status === 200 && view) {
      seen = view.status + '/' + view.stage;
      /* Unchanged at once: the cloud did not hold the request (too many held): wait a bit. */
      quick = push && seen === was && new Date().getTime() - asked < POLL_WAIT;
      pushFailed = 0; onView(view); return;
    }
    /* No long polls here (an older cloud, or a proxy that cuts held requests): plain polling. */
    if (push && (status === 404 || status === 0) && (status === 404 || ++pushFailed >= 2)) { push = false; document.body.setAttribute('data-updates', 'poll'); timer = setTimeout(poll, POLL_PAID); return; }
    if (status === 400 || status === 404) { forget(); screen('choose'); return; }
    timer = setTimeout(poll, POLL_LATE);
  }, viewKey);
}
function again(ms) { timer = setTimeout(poll, push && !quick ? 0 : ms); }
function steps(stage) {
  var order = ['waiting_for_approval', 'payment_received', 'activating', 'online'], at = -1, i, li;
  for (i = 0; i < order.length; i++) { if (order[i] === stage) { at = i; } }
  for (i = 0; i < order.length; i++) {
    li = $('s-' + order[i]);
    li.className = i < at || (i === at && stage === 'online') ? 'done' : (i === at ? 'now' : '');
    if (i === at) { li.setAttribute('aria-current', 'step'); } else { li.removeAttribute('aria-current'); }
  }
  document.body.setAttribute('data-stage', stage);
}
function countdown(secs) {
  var now = new Date().getTime();
  if (!total) { total = Math.max(secs, 1); }
  if (!deadline || Math.abs(now + secs * 1000 - deadline) > 2000) { deadline = now + secs * 1000; }
  if (!tick) { tick = setInterval(drawCount, 1000); }
  drawCount();
}
function drawCount() {
  var left = Math.max(0, (deadline - new Date().getTime()) / 1000);
  $('count').textContent = clock(left);
  $('bar').style.width = Math.round(100 * left / total) + '%';
}
function stopCount() { clearInterval(tick); tick = null; deadline = 0; total = 0; }

function onView(v) {
  clearTimeout(timer);
  if (v.status === 'initiated' || v.status === 'pending') {
    steps('waiting_for_approval');
    /* M-Pesa did not answer the request: the prompt may still come. Never a second push. */
    var text = v.unconfirmed ? 'unconfirmed' : 'check';
    if (current.waitText !== text && !current.late) { current.waitText = text; $('waittitle').textContent = t(text); }
    if (v.wait_secs > 0) {
      show($('countbox'), true); countdown(v.wait_secs);
      again(POLL_WAIT);
    } else if (current.resumed && !current.late) {
      /* A prompt from before a retry is still open: say so, keep following it. */
      stopCount(); current.late = true; fail('stillopen', null, true); again(POLL_LATE);
    } else {
      /* The countdown is over; M-Pesa may still confirm late: keep listening, slowly. */
      stopCount();
      if (!current.late) { current.late = true; fail('timeout_late', null, true); }
      again(POLL_LATE);
    }
    return;
  }
  if (v.status === 'paid') {
    stopCount();
    if (current.late) { current.late = false; screen('wait'); }
    show($('countbox'), false);
    show($('waitnote'), false);
    if (v.stage === 'online' && v.login) { steps('online'); online(v.login); return; }
    if (v.stage === 'failed') { forget(); fail('paid_failed', { r: v.receipt || '' }, false); return; }
    steps(v.stage === 'activating' ? 'activating' : 'payment_received');
    current.waitText = v.stage === 'activating' ? 'activating' : 'received';
    $('waittitle').textContent = t(current.waitText);
    again(POLL_PAID);
    return;
  }
  stopCount();
  forget();
  save(KEY + ':attempt', null);
  var reason = v.reason || '';
  var key = v.status === 'cancelled' ? 'cancelled' : v.status === 'timed_out' ? 'timeout' : reason.indexOf('provider') === 0 ? 'provider' : (T.en[reason] ? reason : 'failed');
  fail(key, null, true);
}
function forget() { paymentId = null; viewKey = null; save(KEY, null); save(KEY + ':vk', null); try { if (location.hash) { history.replaceState(null, '', location.pathname + location.search); } } catch (e) {} }

function fail(key, args, canRetry) {
  current.msg = { key: key, args: args };
  $('msg').textContent = t(key, args);
  show($('retry'), canRetry !== false && !!attempt);
  screen('result', 'failed');
  document.body.setAttribute('data-reason', key);
  if (canRetry !== false && attempt) { $('retry').focus(); }
}

/* Online: log the device into the hotspot with a form to link-login-only. */
function online(login) {
  forget();
  save(KEY + ':attempt', null);
  lastLogin = login;
  window.jasiyoOnlineAt = new Date().getTime();
  screen('done', 'online');
  showCreds(login);
  var tries = parseInt(load(KEY + ':tries:' + login.username) || '0', 10);
  show($('going'), !!hs.login);
  show($('loginnow'), !!hs.login);
  if (!hs.login || (hs.error && tries > 0)) { show($('manual'), true); return; }
  save(KEY + ':tries:' + login.username, String(tries + 1));
  submitLogin(login);
}
function showCreds(login) {
  $('creds').textContent = t('user') + ': ' + login.username + '\n' + t('pass') + ': ' + login.password;
  var until = new Date(login.expires_at * 1000);
  $('until').textContent = t('until', { t: until.toLocaleString ? until.toLocaleString() : String(until) });
}
function submitLogin(login) {
  var password = login.password;
  if (hs.chapId) { password = md5(unhex(hs.chapId) + login.password + unhex(hs.chapChallenge)); }
  var fields = { username: login.username, password: password, dst: hs.orig || '', popup: 'true' };
  /* Always a POST: the password (or its CHAP hash) never goes into a URL, where history,
     logs and referrers would keep it. A browser may warn before an https page posts to the
     router's plain-http login; that is the price of not leaking the password. */
  var form = document.createElement('form'), name, input;
  form.method = 'post';
  form.action = hs.login;
  for (name in fields) {
    if (fields.hasOwnProperty(name)) { input = document.createElement('input'); input.type = 'hidden'; input.name = name; input.value = fields[name]; form.appendChild(input); }
  }
  document.body.appendChild(form);
  form.submit();
}

/* Already paid? */
function recover() {
  if (busy) { return; }
  current.recErr = null; setText($('recerr'), null);
  var code = $('receipt').value.replace(/\s/g, '');
  if (code.length < 10) { current.recErr = 'invalid_receipt'; setText($('recerr'), 'invalid_receipt'); $('receipt').focus(); return; }
  var ph = $('recphone').value;
  if (!ph) { current.recErr = 'phone_needed'; setText($('recerr'), 'phone_needed'); document.body.setAttribute('data-reason', 'phone_needed'); $('recphone').focus(); return; }
  if (parsePhone(ph).err) { current.recErr = parsePhone(ph).err; setText($('recerr'), current.recErr); return; }
  busy = true; $('recgo').disabled = true;
  api('POST', '/api/portal/' + boot.router + '/recover', { receipt: $('receipt').value, phone: ph || null, mac: hs.mac, ip: hs.ip }, function (status, body) {
    busy = false; $('recgo').disabled = false;
    if (status === 200 && body && body.payment_id) { attempt = null; follow(body.payment_id, null, false, true, body.view_key); return; }
    var code = (body && body.error) || (status === 0 ? 'network' : 'internal');
    current.recErr = T.en[code] ? code : 'internal';
    setText($('recerr'), current.recErr);
    document.body.setAttribute('data-reason', current.recErr);
    if (current.recErr === 'phone_needed') { $('recphone').focus(); }
  });
}

/* Wiring. */
$('payform').onsubmit = function (e) { if (e && e.preventDefault) { e.preventDefault(); } pay(); return false; };
$('phone').onblur = function () { if ($('phone').value) { checkPhone(true); } };
$('phone').oninput = function () { checkPhone(false); };
$('retry').onclick = function () { if (attempt) { attempt.key = randomKey(); save(KEY + ':attempt', JSON.stringify(attempt)); screen('choose'); send(); } };
$('back').onclick = function () { current.msg = null; screen('choose'); $('phone').focus(); };
$('paid').onclick = function () { screen('recover'); $('receipt').focus(); };
$('recback').onclick = function () { screen('choose'); };
$('recform').onsubmit = function (e) { if (e && e.preventDefault) { e.preventDefault(); } recover(); return false; };
$('loginnow').onclick = function () { if (lastLogin) { submitLogin(lastLogin); } };
$('lang').onclick = function () { lang = lang === 'en' ? 'sw' : 'en'; save('jasiyo:lang', lang); render(); };

if (boot.plans.length === 1) { selected = boot.plans[0].id; }
if (hs.error) { current.notice = { key: 'routererr', args: { e: hs.error } }; }
render();

/* Resume a payment in flight: the URL hash first (survives a reload), then storage. */
var fromHash = /(?:^#|&)p=([0-9a-fA-F-]{36})/.exec(location.hash || '');
var keyHash = /&k=([0-9a-f]{64})/.exec(location.hash || '');
var stored = load(KEY + ':attempt');
try { attempt = stored ? JSON.parse(stored) : null; } catch (e) { attempt = null; }
if (attempt) { selected = attempt.plan; $('phone').value = attempt.phone; render(); }
var resume = (fromHash && fromHash[1]) || load(KEY);
if (resume) { follow(resume, null, true, false, (fromHash && keyHash && keyHash[1]) || (resume === load(KEY) ? load(KEY + ':vk') : null)); }
else if (attempt) { screen('wait'); send(); }  /* reloaded while starting: same key, same payment */
else { screen('choose'); }
})();
