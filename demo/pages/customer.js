// customer.js: the demo's customer chat window. It starts a chat with a
// nickname and a subject, over CometD (live push, the default) or REST
// polling as the start form's checkbox says, shows the transcript (chat.js)
// and keeps the chat and its transport in the tab's session storage, so a
// reload resumes it from index 1 the same way, as the widget does. Below
// the window, a button of the demo's kills the node serving the chat.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const KEY = 'chatha-demo-customer';
  const view = new chatha.Transcript($('transcript'), $('typing'), $('people'));
  let session = null;
  let push = true; // the chat's transport: CometD, or REST polling
  let loadLimits = () => {};
  let showKill = () => {};

  const STATES = { connected: 'connected', reconnecting: 'reconnecting…', offline: 'cannot reach the server, retrying…', ended: 'chat ended' };

  function opts() {
    return {
      service: 'support',
      transport: push ? new chatha.CometTransport() : new chatha.RestTransport(),
      onEvent: (m) => {
        view.add(m);
        if (m.type === 'ParticipantJoined' && m.from.type === 'Agent') loadLimits(); // as the widget, once an agent is in
      },
      onNode: (from, to) => {
        $('node').textContent = 'served by ' + to;
        if (from) view.note('The chat moved from ' + from + ' to ' + to + '.', 'moved');
        showKill();
      },
      onState: (state, detail) => {
        $('widget').dataset.state = state;
        $('state').textContent = STATES[state] || state;
        if (state === 'ended') ended(detail);
      },
    };
  }

  function started(s) {
    sessionStorage.setItem(KEY, JSON.stringify(Object.assign(s.saved(), { push: push })));
    $('start').hidden = true;
    $('chat').hidden = false;
    $('end').hidden = false;
    $('via').textContent = push ? 'live push' : 'polling';
    $('widget').dataset.transport = push ? 'cometd' : 'rest';
    loadLimits = chatha.bindComposer(s, view, { form: $('compose'), input: $('message'), attach: $('attach'), file: $('file'), hint: $('files') });
    loadLimits();
    const update = chatha.bindKill($('kill'), s, view);
    showKill = () => {
      update();
      $('tools').hidden = $('kill').hidden;
    };
    showKill();
    $('message').focus();
  }

  function ended(detail) {
    sessionStorage.removeItem(KEY);
    view.note(detail ? 'The chat ended: ' + detail : 'The chat ended.', 'ended');
    for (const e of $('compose').elements) e.disabled = true;
    $('end').hidden = true;
    $('again').hidden = false;
    showKill();
  }

  $('start').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = ev.submitter || $('start').querySelector('button');
    button.disabled = true;
    $('start-error').hidden = true;
    push = $('push').checked;
    try {
      const s = use(new chatha.Session(opts()));
      await s.create($('nickname').value.trim(), $('subject').value.trim());
      started(s);
    } catch (e) {
      $('start-error').textContent = 'The chat could not start: ' + e.message;
      $('start-error').hidden = false;
    } finally {
      button.disabled = false;
    }
  });

  function use(s) {
    session = s;
    view.session = s;
    return s;
  }

  $('end').addEventListener('click', () => session.end().catch(() => {}));
  $('again').addEventListener('click', () => location.reload());

  const saved = JSON.parse(sessionStorage.getItem(KEY) || 'null');
  if (saved) {
    push = saved.push === true;
    const s = use(new chatha.Session(opts()));
    s.resume(saved);
    started(s);
  }
})();
