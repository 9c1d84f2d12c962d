/* The captive portal's "Have a voucher?": the last part of its one script (see page.rs),
   after the flow that wires its buttons (function declarations are hoisted across the
   parts, which run as one function). */
/* Have a voucher? A good code comes back as the login, posted like a paid one. */
function voucher() {
  if (busy) { return; } current.vErr = null; current.vArgs = null; setText($('verr'), null);
  if (!hs.mac) { joinFirst($('vcode').value); return; }
  busy = true; $('vgo').disabled = true;
  api('POST', '/api/portal/' + boot.router + '/voucher', { code: $('vcode').value, mac: hs.mac }, function (status, body) {
    busy = false; $('vgo').disabled = false;
    if (status === 200 && body && body.login) { body.login.expires_at = new Date().getTime() / 1000 + body.duration_secs; online(body.login); return; }
    current.vErr = body && T.en[body.error] ? body.error : (status === 0 ? 'network' : 'internal');
    setText($('verr'), current.vErr); document.body.setAttribute('data-reason', current.vErr);
  });
}

/* A card's QR code opens this page with ?voucher=CODE: the code is filled in. Scanned with
   the phone's camera, the page has no hotspot variables (no device to log in), so the code
   is kept here and the customer is told to join the WiFi and open any page: the router's
   login page then brings them back here, with the variables, and the code filled in again
   (when the same browser opens it; a captive-portal window has its own storage). */
function joinFirst(code) {
  var c = code.replace(/[\s-]/g, '').toUpperCase();
  save(KEY + ':voucher', c || null);
  current.vErr = 'voucher_join'; current.vArgs = { c: c.replace(/(.{4})(?=.)/g, '$1-') };
  setText($('verr'), current.vErr, current.vArgs); document.body.setAttribute('data-reason', 'voucher_join');
}
function openVoucher(code) {
  $('vcode').value = code.replace(/(.{4})(?=.)/g, '$1-'); screen('voucher');
  if (!hs.mac) { joinFirst(code); } else { save(KEY + ':voucher', null); $('vgo').focus(); }
}
