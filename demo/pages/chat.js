// chat.js: the GMS Chat API v2 client of the demo's customer page and agent
// console, and the transcript view they share. On the wire it does what the
// Genesys widget does in REST mode:
//  - form-encoded POSTs (multipart for files) to /genesys/2/chat/{service}/,
//    then .../{chatId}/{operation}, each carrying alias, secureKey and
//    userId (empty on the create);
//  - a refresh poll with transcriptPosition = the highest index seen + 1,
//    every 2 s, and at once then every 0.5 s growing by 1.2 after the
//    participant did something;
//  - events de-duplicated by index; only refresh answers are shown (the
//    answers to create, send and typing are not), as the widget does;
//  - statusCode 0 is a success (with chatEnded true: a normal end), 1 a
//    retry (five in a row: "reconnecting"), 2 an error with errors[];
//    non-2xx answers are errors, except a 409 with statusCode 1 (moved);
//  - file limits, uploads (multipart, part "file") and downloads (a form
//    POST to a new tab, as the widget does).
//
// Transports. A Session sends its operations through a transport and gets
// its events from it; RestTransport polls refresh. A CometD transport
// (Bayeux on /genesys/cometd, channel /service/chatV2/{service}) fits the
// same three methods: request() publishes the operation (create is
// requestChat, send is sendMessage) and resolves with the answer, listen()
// sends requestNotifications from session.next and hands the data of every
// notification (the same answer shape) to session.receive(), and hurry()
// has nothing to do. Files stay on REST in CometD mode too.
'use strict';
window.chatha = (function () {
  const POLL_MIN = 500;
  const POLL_MAX = 2000;
  const POLL_MULT = 1.2;
  const TIMEOUT_MS = 10000; // the widget waits 3 s; a demo laptop may be busier
  const RETRY_LIMIT = 5; // the widget's pollExceptionLimit
  const TYPING_IDLE_MS = 2000; // the widget's typing timeout

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('data-')) e.setAttribute(k, v);
      else e[k] = v;
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  function form(data) {
    return Object.entries(data).map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v)).join('&');
  }

  // post sends body (an object as a form, FormData as multipart) and
  // resolves with the HTTP status, the JSON answer and the serving node.
  function post(url, body) {
    return new Promise((resolve, reject) => {
      const x = new XMLHttpRequest();
      x.open('POST', url);
      x.timeout = TIMEOUT_MS;
      x.withCredentials = false;
      if (!(body instanceof FormData)) {
        x.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
        body = form(body);
      }
      x.onload = () => {
        let json = null;
        try { json = JSON.parse(x.responseText); } catch (e) { /* not JSON: an error page */ }
        resolve({ status: x.status, json: json || {}, node: x.getResponseHeader('X-Chatha-Node') || '' });
      };
      x.onerror = () => reject(new ChatError('the network failed', 0));
      x.ontimeout = () => reject(new ChatError('no answer in ' + TIMEOUT_MS / 1000 + ' s', 0));
      x.send(body);
    });
  }

  // ChatError is a failed request: its HTTP status, and the first of the
  // answer's errors.
  class ChatError extends Error {
    constructor(message, status, code, advice) {
      super(message);
      this.status = status;
      this.code = code || 0;
      this.advice = advice || '';
    }
  }

  function chatError(r) {
    const e = (r.json.errors || [])[0] || {};
    const text = e.message || e.advice || ('HTTP ' + r.status);
    return new ChatError(text, r.status, e.code, e.advice);
  }

  // RestTransport carries a session's operations as REST POSTs and brings
  // its events by polling refresh.
  class RestTransport {
    constructor() {
      this.delay = POLL_MAX;
      this.timer = 0;
      this.busy = false;
      this.stopped = true;
    }

    // request posts operation op of session ('' is the create), with
    // data, or as multipart with a file, and resolves with the answer.
    request(session, op, data, file) {
      const base = '/genesys/2/chat/' + encodeURIComponent(session.service);
      const url = session.chatId ? base + '/' + session.chatId + (op ? '/' + op : '') : base + '/';
      const fields = Object.assign({ alias: session.keys.alias, secureKey: session.keys.secureKey, userId: session.keys.userId }, data);
      if (!file && op !== 'file/limits') return post(url, fields);
      const fd = new FormData(); // as the widget, the limits go as multipart too
      if (file) fd.append('file', file, file.name);
      for (const [k, v] of Object.entries(fields)) fd.append(k, v);
      return post(url, fd);
    }

    // listen polls refresh from session.next until stop() or the end.
    listen(session) {
      this.stopped = false;
      this.session = session;
      this.tick();
    }

    async tick() {
      const s = this.session;
      this.timer = 0;
      if (this.stopped || s.ended) return;
      this.busy = true;
      try {
        const a = await s.act('refresh', { transcriptPosition: s.next, message: '' });
        if (a.statusCode === 0) s.receive(a);
      } catch (e) {
        // act has set the session's state; the poll goes on
      }
      this.busy = false;
      if (this.stopped || s.ended) return;
      this.timer = setTimeout(() => this.tick(), this.delay);
      this.delay = Math.min(POLL_MAX, this.delay * POLL_MULT);
    }

    // hurry polls sooner: the participant just did something.
    hurry() {
      this.delay = POLL_MIN;
      if (this.timer && !this.busy) {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.tick(), POLL_MIN);
      }
    }

    stop() {
      this.stopped = true;
      clearTimeout(this.timer);
    }
  }

  // Session is one participant in one chat: its credentials, the position
  // it refreshes from, the indexes it has seen, and its state.
  class Session {
    // opts: service, transport (a RestTransport by default), and the
    // callbacks onEvent(m) for each new event in index order, onNode(from,
    // to) when a refresh names another node serving the chat (from is ''
    // the first time), onState(state, detail) with state 'connected',
    // 'reconnecting', 'offline' or 'ended'.
    constructor(opts) {
      this.service = opts.service || 'support';
      this.transport = opts.transport || new RestTransport();
      this.onEvent = opts.onEvent || (() => {});
      this.onNode = opts.onNode || (() => {});
      this.onState = opts.onState || (() => {});
      this.chatId = '';
      this.keys = { alias: '', secureKey: '', userId: '' };
      this.me = 0; // my participantId
      this.node = ''; // the node serving the chat, as the last refresh said
      this.next = 1;
      this.seen = new Set();
      this.retries = 0;
      this.ended = false;
      this.state = '';
    }

    // take keeps the credentials of a create or join answer, and who I am:
    // the participant of the answer's last ParticipantJoined.
    take(a) {
      this.chatId = a.chatId;
      this.keys = { alias: a.alias || '', secureKey: a.secureKey, userId: a.userId || '' };
      const joins = (a.messages || []).filter((m) => m.type === 'ParticipantJoined');
      if (joins.length) this.me = joins[joins.length - 1].from.participantId;
    }

    // create starts a chat as a customer, as the widget's start form
    // does, and polls it.
    async create(nickname, subject) {
      const a = await this.act('', { nickname: nickname, firstName: '', lastName: '', emailAddress: '', subject: subject || '', text: '',
        'userData[_genesys_source]': 'web', 'userData[_genesys_pageTitle]': document.title });
      this.take(a);
      this.transport.listen(this);
    }

    // join joins chat chatId as an agent named nickname and polls it.
    async join(chatId, nickname) {
      const r = await post('/agent/1/chat/' + encodeURIComponent(chatId) + '/join', { nickname: nickname });
      if (r.status !== 200 || r.json.statusCode !== 0) throw chatError(r);
      this.take(r.json);
      this.transport.listen(this);
    }

    // saved is what a page keeps to resume the chat after a reload.
    saved() {
      return { service: this.service, chatId: this.chatId, keys: this.keys, me: this.me };
    }

    resume(saved) {
      Object.assign(this, { service: saved.service, chatId: saved.chatId, keys: saved.keys, me: saved.me });
      this.transport.listen(this);
    }

    setState(state, detail) {
      if (this.state === state && !detail) return;
      this.state = state;
      this.onState(state, detail || '');
    }

    // act runs operation op and resolves with the answer of a success or
    // a retry (statusCode 1); it rejects with a ChatError otherwise.
    async act(op, data, file) {
      let r;
      try {
        r = await this.transport.request(this, op, data || {}, file);
      } catch (e) {
        this.setState('offline', e.message);
        throw e;
      }
      const a = r.json;
      if (a.statusCode === 1 && (r.status === 200 || r.status === 409)) {
        if (++this.retries >= RETRY_LIMIT) this.setState('reconnecting');
        return a;
      }
      if (r.status < 200 || r.status > 299 || a.statusCode !== 0) {
        const err = chatError(r);
        // An ended chat, or one that is gone (expired, or never there), is over.
        if (a.chatEnded === true || r.status === 404 || r.status === 410) this.finish(err.message);
        throw err;
      }
      this.retries = 0;
      if (a.chatEnded === true) this.finish();
      else if (!this.ended) this.setState('connected');
      return a;
    }

    // receive shows the events of a refresh answer: each index once, in
    // order, after saying which node served them when it changed.
    receive(a) {
      if (a.alias && a.alias !== this.node) {
        const from = this.node;
        this.node = a.alias;
        this.onNode(from, a.alias);
      }
      const ms = (a.messages || []).slice().sort((x, y) => x.index - y.index);
      for (const m of ms) {
        if (typeof m.index !== 'number' || this.seen.has(m.index)) continue;
        this.seen.add(m.index);
        if (m.index >= this.next) this.next = m.index + 1;
        this.onEvent(m);
      }
    }

    finish(why) {
      if (this.ended) return;
      this.ended = true;
      this.transport.stop();
      this.setState('ended', why);
    }

    async send(text) {
      const a = await this.act('send', { message: text, messageType: 'text', transcriptPosition: this.next });
      this.transport.hurry();
      return a;
    }

    typing(on) {
      return this.act(on ? 'startTyping' : 'stopTyping', { message: '', transcriptPosition: this.next });
    }

    // end disconnects; the chat ends for this participant whatever the answer.
    async end() {
      try {
        await this.act('disconnect', {});
        const a = await this.act('refresh', { transcriptPosition: this.next, message: '' });
        this.receive(a);
      } finally {
        this.finish();
      }
    }

    // limits resolves with the file limits (strings, as GMS sends them).
    async limits() {
      const a = await this.act('file/limits', {});
      const n = (a.messages || []).find((m) => m.userData);
      return n ? n.userData : {};
    }

    // upload sends file; it rejects with the GMS code (201 too many files,
    // 202 too large, 203 a type not allowed) and its advice.
    async upload(file) {
      const a = await this.act('file', {}, file);
      this.transport.hurry();
      return a.userData && a.userData['file-id'];
    }

    // downloadForm returns a form that downloads file fileId in a new tab,
    // with the participant's keys, as the widget does.
    downloadForm(fileId) {
      const f = el('form', { method: 'post', target: '_blank', enctype: 'multipart/form-data', class: 'download',
        action: '/genesys/2/chat/' + encodeURIComponent(this.service) + '/' + this.chatId + '/file/' + encodeURIComponent(fileId) + '/download' });
      for (const [k, v] of Object.entries(this.keys)) f.append(el('input', { type: 'hidden', name: k, value: v }));
      f.append(el('button', { type: 'submit', class: 'link' }, 'Download'));
      return f;
    }
  }

  const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

  function size(n) {
    n = Number(n);
    if (n < 1024) return n + ' B';
    if (n < 1 << 20) return (n / 1024).toFixed(0) + ' KB';
    return (n / (1 << 20)).toFixed(1) + ' MB';
  }

  // Transcript shows a session's events in a list, the others' typing in
  // a line below it, and who is in the chat.
  class Transcript {
    constructor(list, typing, people) {
      this.list = list;
      this.typingLine = typing;
      this.peopleLine = people;
      this.session = null;
      this.people = new Map(); // participantId -> {nickname, type, present}
      this.typers = new Map(); // participantId -> nickname, of those typing now
      this.last = null; // the last event shown
    }

    // add shows event m; typing notices only set the typing line.
    add(m) {
      const mine = this.session && m.from.participantId === this.session.me;
      this.track(m, mine);
      const line = this.line(m, mine);
      this.last = m;
      if (!line) return;
      Object.assign(line.dataset, { index: m.index, type: m.type, from: m.from.nickname || '', party: m.from.type || '' });
      this.append(line);
    }

    // note shows a line of the page's own, outside the transcript (no index).
    note(text, cls) {
      this.append(el('li', { class: 'note local ' + (cls || '') }, text));
    }

    append(li) {
      const atEnd = this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 40;
      this.list.append(li);
      if (atEnd) this.list.scrollTop = this.list.scrollHeight;
    }

    track(m, mine) {
      const id = m.from.participantId;
      if (m.type === 'ParticipantJoined') this.people.set(id, { nickname: m.from.nickname, type: m.from.type, present: true });
      if (m.type === 'ParticipantLeft' && this.people.has(id)) this.people.get(id).present = false;
      if (!mine) {
        if (m.type === 'TypingStarted') this.typers.set(id, m.from.nickname);
        else if (['TypingStopped', 'Message', 'PushUrl', 'FileUploaded', 'ParticipantLeft'].includes(m.type)) this.typers.delete(id);
      }
      this.render();
    }

    render() {
      const names = [...this.typers.values()];
      this.typingLine.textContent = names.length ? names.join(', ') + (names.length > 1 ? ' are' : ' is') + ' typing…' : '';
      this.typingLine.hidden = !names.length;
      if (!this.peopleLine) return;
      const here = [...this.people.entries()].filter(([, p]) => p.present).map(([id, p]) =>
        p.nickname + (this.session && id === this.session.me ? ' (you)' : p.type === 'Agent' ? ' (agent)' : ''));
      this.peopleLine.textContent = here.length ? 'In this chat: ' + here.join(', ') : '';
    }

    line(m, mine) {
      const who = m.from.nickname || m.from.type || 'someone';
      const again = m.type === 'ParticipantJoined' && this.last && this.last.type === 'ParticipantLeft' &&
        this.last.from.participantId === m.from.participantId && this.last.index === m.index - 1;
      switch (m.type) {
        case 'Message':
          return this.bubble(m, mine, el('p', { class: 'text' }, m.text || ''));
        case 'PushUrl':
          return this.bubble(m, mine, this.link(m.text || ''));
        case 'FileUploaded': {
          const u = m.userData || {};
          return this.bubble(m, mine, el('p', { class: 'file' }, el('span', { class: 'file-name' }, u['file-name'] || 'a file'),
            ' ', el('span', { class: 'muted' }, size(u['file-size'] || 0)), ' ', this.session.downloadForm(u['file-id'])));
        }
        case 'ParticipantJoined':
          return el('li', { class: 'note ' + (again ? 'rejoined' : 'joined') }, who + (again ? ' joined the chat again' : ' joined the chat'));
        case 'ParticipantLeft':
          return el('li', { class: 'note left' }, who + ' left the chat');
        case 'TypingStarted':
        case 'TypingStopped':
          return null;
        case 'FileDeleted':
          return el('li', { class: 'note' }, who + ' deleted a file');
        case 'NicknameUpdated':
          return el('li', { class: 'note' }, 'a participant is now called ' + who);
        case 'IdleAlert':
          return el('li', { class: 'note alert' }, 'Are you still there? The chat closes soon without an answer.');
        case 'IdleClose':
          return el('li', { class: 'note alert' }, 'The chat was closed for inactivity.');
        default: // Notice, CustomNotice
          return el('li', { class: 'note' }, m.text || m.type);
      }
    }

    bubble(m, mine, body) {
      return el('li', { class: 'msg ' + (mine ? 'mine' : 'theirs') + ' ' + (m.from.type || '').toLowerCase() },
        el('div', { class: 'who' }, mine ? 'You' : m.from.nickname || m.from.type, el('time', {}, clock(m.utcTime))), body);
    }

    link(text) {
      let u = null;
      try { u = new URL(text); } catch (e) { /* not a URL: shown as text */ }
      if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) return el('p', { class: 'text' }, text);
      return el('p', { class: 'text' }, el('a', { href: u.href, target: '_blank', rel: 'noopener noreferrer' }, u.href));
    }
  }

  // bindComposer wires a message form to a session: typing notices while
  // the participant types (stopped after 2 s without a key), the message
  // on submit, a file from the file input, the file limits from the chat.
  // It returns a function that refreshes the limits.
  function bindComposer(session, view, parts) {
    const { form: composer, input, attach, file, hint } = parts;
    let typing = false;
    let idle = 0;
    const stopTyping = () => {
      clearTimeout(idle);
      if (typing) {
        typing = false;
        session.typing(false).catch(() => {});
      }
    };
    input.addEventListener('input', () => {
      if (session.ended) return;
      clearTimeout(idle);
      if (!input.value) return stopTyping();
      if (!typing) {
        typing = true;
        session.typing(true).catch(() => {});
      }
      idle = setTimeout(stopTyping, TYPING_IDLE_MS);
    });
    composer.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const text = input.value.trim();
      if (!text || session.ended) return;
      clearTimeout(idle);
      typing = false; // the message ends the typing, as the widget shows it
      input.value = '';
      try {
        await session.send(text);
      } catch (e) {
        input.value = text;
        view.note('Not sent: ' + e.message, 'error');
      }
    });
    let limits = {};
    const loadLimits = async () => {
      try {
        limits = await session.limits();
      } catch (e) {
        return;
      }
      const types = (limits['upload-file-types'] || '').split(':').filter(Boolean);
      file.accept = types.map((t) => '.' + t).join(',');
      attach.disabled = Number(limits['upload-max-files'] || 0) === 0;
      if (hint) hint.textContent = 'Files: ' + types.join(', ') + '; up to ' + size(limits['upload-max-file-size'] || 0) + ' each, ' +
        limits['upload-max-files'] + ' per chat.';
    };
    attach.addEventListener('click', () => file.click());
    file.addEventListener('change', async () => {
      const f = file.files[0];
      file.value = '';
      if (!f) return;
      const max = Number(limits['upload-max-file-size'] || 0);
      if (max && f.size > max) return view.note(f.name + ' is larger than ' + size(max) + ': not sent', 'error');
      try {
        await session.upload(f);
      } catch (e) {
        const why = { 201: 'the chat holds as many files as it may', 202: 'the file is too large', 203: 'files of this type are not allowed' }[e.code];
        view.note('File not sent: ' + (why || e.message), 'error');
      }
      loadLimits();
    });
    return loadLimits;
  }

  return { Session, RestTransport, ChatError, Transcript, bindComposer, el, clock };
})();
