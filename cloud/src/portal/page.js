/* The captive portal's screens and its flow: the last part of its one script (see
   page.rs): choosing, paying, waiting, starting again, results, logging in, "already paid?". */
/* Screens: choose, wait, result, done, recover, voucher (body[data-state] tells tests which). */
var screens = ['choose', 'wait', 'result', 'done', 'recover', 'voucher'];
function screen(name, state) {
  for (var i = 0; i < screens.length; i++) { show($(screens[i]), screens[i] === name); }
  document.body.setAttribute('data-state', state || name);
}

/* Messages are kept as keys so a language switch rewords them. */
var current = { msg: null, notice: null, payErr: null, recErr: null, phoneErr: null, hint: null, waitText: 'check', amount: null };
function setText(el, key, args) {
  if (key) { put(el, t(key, args)); show(el, true); } else { el.textContent = ''; show(el, false); }
}
function render() {
  var i, els = document.querySelectorAll('[data-t]');
  document.documentElement.lang = lang;
  for (i = 0; i < els.length; i++) { put(els[i], t(els[i].getAttribute('data-t'))); }
  $('lang').textContent = lang === 'en' ? 'Kiswahili' : 'English';
  $('lang').setAttribute('lang', lang === 'en' ? 'sw' : 'en');
  renderPlans();
  updatePayLabel();
  setText($('notice'), current.notice && current.notice.key, current.notice && current.notice.args);
  setText($('phoneerr'), current.phoneErr);
  setText($('phonehint'), current.hint && 'op_hint', current.hint && { op: current.hint });
  setText($('recerr'), current.recErr);
  setText($('verr'), current.vErr, current.vArgs);
  setPayErr(current.payErr);
  if (current.msg) { put($('msg'), t(current.msg.key, current.msg.args)); }
  put($('waittitle'), t(current.waitText));
  sentTo();
  if (attempt) { put($('retry'), t('retryn', prompted(attempt))); }
  if (lastLogin) { showCreds(lastLogin); }
}
/* What a prompt for this attempt says: {n: the price, p: the number as a Kenyan writes it}. */
function prompted(a) {
  var p = planById(a.plan), r = parsePhone(a.phone);
  return { n: (p && p.price_kes) || '', p: r.msisdn ? local(r.msisdn) : a.phone };
}
function sentTo() {
  var on = !!attempt && !!planById(attempt.plan), said;
  if (on) { said = prompted(attempt); said.n = current.amount || said.n; put($('sent'), t('sent', said)); }
  show($('sent'), on);
}

/* Plans: in the owner's order, as the server lists them. */
var selected = null;
function renderPlans() {
  var box = $('plans'), i, p, parts, id;
  if (!boot.plans.length) { box.textContent = t('noplans'); return; }
  box.innerHTML = '';
  /* Many plans: compact cards, so that Pay stays on a small phone's first screen. */
  box.className = boot.plans.length > 3 ? 'many' : '';
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
    /* The owner's name as written; the details in the page's language, without the
       duration when the name says it already ("30 minutes": "Unlimited data"). */
    parts = says(p.name, duration(p.duration_secs)) ? [] : [duration(p.duration_secs)];
    parts.push(data(p.data_mb));
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
      var own = paymentId || load(KEY), gone = released();
      if (status === 409 && code === 'prompt_in_flight' && own) { follow(own, null, true, false, viewKey || load(KEY + ':vk')); return; }
      /* Started again with the number of the prompt let go: that prompt is still open. */
      if (status === 409 && code === 'prompt_in_flight' && gone && gone.msisdn === parsePhone(attempt.phone).msisdn) {
        save(KEY + ':released', null); follow(gone.id, null, true, false, gone.vk); return;
      }
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
  current.amount = null;
  current.waitText = paid ? 'received' : 'check';
  current.late = false;
  current.resumed = !!resumed;
  put($('waittitle'), t(current.waitText));
  sentTo();
  show($('countbox'), false);
  show($('restart'), false);
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
function stopCount() { clearInterval(tick); tick = null; deadline = 0; total = 0; show($('restart'), false); }

/* "Wrong number? Start again": this page stops waiting and the cloud lets this device start
   another payment (the phone prompted stays held; the payment is still honoured if approved).
   The payment let go is remembered: starting again with its number follows it again. */
function restart() {
  var id = paymentId, vk = viewKey, r = parsePhone(attempt ? attempt.phone : '');
  if (!id) { return; }
  clearTimeout(timer); stopCount();
  paymentId = null;
  save(KEY + ':released', JSON.stringify({ id: id, vk: vk, msisdn: r.msisdn || '' }));
  api('POST', '/api/portal/payments/' + id + '/release', {}, function () {}, vk);
  forget();
  save(KEY + ':attempt', null);
  attempt = null;
  current.msg = null;
  screen('choose');
  $('phone').focus();
  $('phone').select();
}
function released() { try { return JSON.parse(load(KEY + ':released') || 'null'); } catch (e) { return null; } }

function onView(v) {
  clearTimeout(timer);
  /* The prompt's own amount (a payment followed again may be for another plan). */
  if (v.amount_kes && v.amount_kes !== current.amount) { current.amount = v.amount_kes; sentTo(); }
  if (v.status === 'initiated' || v.status === 'pending') {
    steps('waiting_for_approval');
    /* M-Pesa did not answer the request: the prompt may still come. Never a second push. */
    var text = v.unconfirmed ? 'unconfirmed' : 'check';
    if (current.waitText !== text && !current.late) { current.waitText = text; put($('waittitle'), t(text)); }
    if (v.wait_secs > 0) {
      show($('countbox'), true); countdown(v.wait_secs);
      show($('restart'), !!attempt && !!viewKey);
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
    show($('restart'), false);
    show($('waitnote'), false);
    if (v.stage === 'online' && v.login) { steps('online'); online(v.login); return; }
    if (v.stage === 'failed') { forget(); fail('paid_failed', { r: v.receipt || '' }, false); return; }
    steps(v.stage === 'activating' ? 'activating' : 'payment_received');
    current.waitText = v.stage === 'activating' ? 'activating' : 'received';
    put($('waittitle'), t(current.waitText));
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
  put($('msg'), t(key, args));
  /* Try again says what it will do: a new prompt, this price, this number. */
  if (attempt) { put($('retry'), t('retryn', prompted(attempt))); }
  show($('retry'), canRetry !== false && !!attempt);
  screen('result', 'failed');
  document.body.setAttribute('data-reason', key);
  if (canRetry !== false && attempt) { $('retry').focus(); }
}

/* Online: "Logging you in..." while the page posts the login form to link-login-only; once
   the form has gone, "You're online until 14:32 (1 hour)" with the login to keep (Android's
   captive window often closes as soon as the login works). Without a login URL, or when
   the router refused the last try, the login details and a button. */
function online(login) {
  forget();
  save(KEY + ':attempt', null);
  save(KEY + ':released', null);
  lastLogin = login;
  window.jasiyoOnlineAt = new Date().getTime();
  screen('done', 'online');
  var tries = parseInt(load(KEY + ':tries:' + login.username) || '0', 10);
  var manual = !hs.login || (hs.error && tries > 0);
  loginState = manual ? 'manual' : 'going';
  showCreds(login);
  if (manual) { return; }
  save(KEY + ':tries:' + login.username, String(tries + 1));
  submitLogin(login);
  loginState = 'sent';
  showCreds(login);
}
var loginState = 'going';
function showCreds(login) {
  var exp = login.expires_at * 1000, left = Math.max(60, Math.round((exp - new Date().getTime()) / 60000) * 60);
  var until = { t: localTime(exp), d: duration(left) };
  put($('donetitle'), loginState === 'going' ? t('going') : t(loginState === 'sent' ? 'online' : 'ready', until));
  document.body.setAttribute('data-login', loginState);
  $('creds').textContent = t('user') + ': ' + login.username + '\n' + t('pass') + ': ' + login.password;
  show($('keep'), loginState !== 'going');
  show($('manual'), loginState === 'manual');
  show($('loginnow'), loginState === 'manual' && !!hs.login);
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
  form.hidden = true;
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
/* A page shown again from the back-forward cache: as it was. */
window.onpageshow = function () { if (lastLogin) { showCreds(lastLogin); } };
$('paid').onclick = function () { screen('recover'); $('receipt').focus(); };
$('recback').onclick = function () { screen('choose'); };
$('vlink').onclick = function () { screen('voucher'); $('vcode').focus(); };
$('vback').onclick = $('recback').onclick;
$('vform').onsubmit = function (e) { if (e && e.preventDefault) { e.preventDefault(); } voucher(); return false; };
$('recform').onsubmit = function (e) { if (e && e.preventDefault) { e.preventDefault(); } recover(); return false; };
$('loginnow').onclick = function () { if (lastLogin) { submitLogin(lastLogin); loginState = 'sent'; showCreds(lastLogin); } };
$('restart').onclick = restart;
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
else if (hs.voucher || (hs.mac && load(KEY + ':voucher'))) { openVoucher(hs.voucher || load(KEY + ':voucher')); }
else { screen('choose'); }
