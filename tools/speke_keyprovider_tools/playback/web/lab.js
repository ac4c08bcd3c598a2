// Shared by the player pages: query parameters, and the evidence a test (or a person) reads.
//   window.lab = {player, state: 'loading' | 'playing' | 'error', errors: [...], requests: [...]}
// The video element's own currentTime / getVideoPlaybackQuality() / requestVideoFrameCallback count
// are the evidence of playback; lab.errors holds every error the player reported.
'use strict';
(function () {
  const params = new URLSearchParams(location.search);
  const lab = {
    player: document.body.dataset.player,
    state: 'loading',
    errors: [],
    requests: [], // key and licence requests: {url, status} (the token itself is never recorded)
    framesPresented: 0,
    src: params.get('src') || '',
    token: params.get('token') || '',
    auth: params.get('auth') || 'header', // 'header' (Authorization: Bearer) or 'query' (?token=)
    laurl: params.get('laurl') || '', // ClearKey licence URL override; default: the MPD's dashif:Laurl
  };
  window.lab = lab;
  const video = document.getElementById('video');
  const status = document.getElementById('status');

  function show() {
    const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : {totalVideoFrames: 0};
    status.textContent = `${lab.player}: ${lab.state}, t=${video.currentTime.toFixed(2)} s, ` +
      `frames=${q.totalVideoFrames}` + (lab.errors.length ? `, error: ${lab.errors[0]}` : '');
  }
  lab.fail = function (message) {
    lab.errors.push(String(message));
    lab.state = 'error';
    show();
  };
  lab.withToken = function (url) { // the key/licence URL, with the token as a query parameter when asked
    if (!lab.token || lab.auth !== 'query') return url;
    return url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(lab.token);
  };
  lab.authHeaders = function () {
    return lab.token && lab.auth === 'header' ? {Authorization: 'Bearer ' + lab.token} : {};
  };
  video.addEventListener('playing', () => { if (lab.state !== 'error') lab.state = 'playing'; show(); });
  video.addEventListener('timeupdate', show);
  video.addEventListener('error', () => lab.fail('video element: ' + (video.error ? video.error.code + ' ' + video.error.message : '?')));
  if (video.requestVideoFrameCallback) {
    const count = () => { lab.framesPresented += 1; video.requestVideoFrameCallback(count); };
    video.requestVideoFrameCallback(count);
  }
  window.addEventListener('unhandledrejection', (e) => lab.fail('unhandled: ' + (e.reason && e.reason.message || e.reason)));
  show();
})();
