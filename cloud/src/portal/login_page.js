/* The router's login.html (see login_page.rs): on to the cloud portal when the cloud answers
   the probe, else the voucher form, which logs in through the router itself. ES5 for captive
   mini-browsers, and not strict: RouterOS writes the CHAP bytes as octal escapes into string
   literals (as its own login page does), which strict mode forbids. Never a dollar sign
   before a parenthesis here: RouterOS would take it for one of its variables. The page puts
   what it knows in hs (probe URL, CHAP id and challenge, where the device was going). */
function el(id) { return document.getElementById(id); }
var settled = false;

/* The cloud answered: to the portal, with the same URL the link and the no-script refresh use. */
function onward() {
  if (settled) { return; }
  settled = true;
  document.body.setAttribute('data-state', 'portal');
  location.replace(el('portal').href);
}

/* No answer in time (or an error): the voucher form. A late answer changes nothing; the
   "try again" link is there for that. */
function offline() {
  if (settled) { return; }
  settled = true;
  el('wait').style.display = 'none';
  el('local').style.display = 'block';
  document.body.setAttribute('data-state', 'local');
}

/* The code as the router knows it: upper case, without the spaces and dashes of the card. */
function submitCode() {
  var form = el('vform'), code = el('code').value.replace(/[\s-]/g, '').toUpperCase(), dst = '';
  if (!code) { return false; }
  try { dst = decodeURIComponent(hs.orig); } catch (e) { dst = ''; }
  form.username.value = code;
  form.password.value = hs.chapId ? md5(hs.chapId + code + hs.chapChallenge) : code;
  form.dst.value = dst;
  return true;
}

/* The probe starts once the page has loaded: an image still loading would hold the page's
   load event (and a captive browser's spinner) until the probe gave up. */
function probe() {
  var image = new Image();
  image.onload = onward;
  image.onerror = offline;
  setTimeout(offline, hs.waitMs);
  image.src = hs.probe + '?t=' + new Date().getTime() + '-' + Math.floor(Math.random() * 1e9);
}
if (document.readyState === 'complete') { probe(); } else { window.addEventListener('load', probe); }
