// chat.js: the GMS Chat API v2 client of the demo's customer page and agent
// console, and the transcript view they share. On the wire it does what the
// Genesys widget does, in REST mode or in CometD mode.
//
// REST mode (RestTransport):
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
// CometD mode (CometTransport): Bayeux 1.0 over long-polling on
// /genesys/cometd (handshake, then one held /meta/connect at a time), the
// chat operations published on /service/chatV2/{service}: the create is
// requestChat, send is sendMessage, startTyping, stopTyping and disconnect
// keep their names. The answer to a publish comes back on the channel with
// the publish's id, REST-shaped; the events the server pushes come there
// without one. Both go to session.receive() (which shows each index once),
// and the answer also resolves the operation. A 402::Unknown client (the
// server lost the session) is followed as Bayeux says, by a new handshake,
// and the chat resumes with requestNotifications from session.next; so does
// a page reloaded with a chat. Files (limits, uploads, downloads) stay on
// REST, as does the last refresh after a disconnect. No WebSocket: the
// demo's pages keep to one plain client.
//
// A Session sends its operations through its transport (request), has it
// bring the events (listen), and tells it when the participant did
// something (hurry: sooner polls, nothing to do for push).
'use strict';
window.chatha = (function () {
  const POLL_MIN = 500;
  const POLL_MAX = 2000;
  const POLL_MULT = 1.2;
  const TIMEOUT_MS = 10000; // the widget waits 3 s; a demo laptop may be busier
  const RETRY_LIMIT = 5; // the widget's pollExceptionLimit
  const TYPING_IDLE_MS = 2000; // the widget's typing timeout
  const COMETD_URL = '/genesys/cometd';
  const CONNECT_TIMEOUT_MS = 30000; // the server's advice, until it gives one
  const BACKOFF_MS = 1000; // CometD's backoff increment ...
  const MAX_BACKOFF_MS = 10000; // ... up to this, between failed connects
  const RESUME_MS = 2000; // the pause before attaching to the chat again after a failure

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

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // The REST operations that have a CometD operation, and its name. The
  // others (refresh, file, file/limits) go over REST in CometD mode too.
  const OPERATIONS = { '': 'requestChat', send: 'sendMessage', startTyping: 'startTyping', stopTyping: 'stopTyping',
    disconnect: 'disconnect', requestNotifications: 'requestNotifications' };

  // httpStatus is the HTTP status a REST answer would have had, for an
  // answer that came over CometD: an unknown chat is a 404, an ended one a
  // 410, as Session.answered takes them.
  function httpStatus(a) {
    if (a.statusCode !== 2) return 200;
    const code = ((a.errors || [])[0] || {}).code;
    return { 103: 404, 104: 403, 105: 410 }[code] || 400;
  }

  // CometTransport carries a session's operations as CometD publishes and
  // gets its events pushed, over Bayeux long-polling; see the header.
  class CometTransport {
    constructor(url) {
      this.url = url || COMETD_URL;
      this.rest = new RestTransport(); // for what has no CometD operation
      this.clientId = ''; // the Bayeux session's; '' until a handshake succeeds
      this.shaking = null; // the handshake under way
      this.first = false; // the next connect is the first after a handshake
      this.timeout = CONNECT_TIMEOUT_MS; // how long the server holds a connect
      this.interval = 0; // the pause between two connects, as advised
      this.attachedTo = ''; // the clientId whose session gets the chat's events pushed
      this.resuming = false;
      this.running = false; // the connect loop runs
      this.stopped = false;
      this.held = null; // the XHR of the held connect
      this.ids = 0;
      this.pending = new Map(); // publish id -> resolve, for its answer
      this.session = null; // the listening session
      this.early = []; // answers and events that came before listen()
    }

    // bayeux posts Bayeux messages (path: '/handshake', '/connect', ... as
    // CometD clients append; '' for publishes), hands what the answer holds
    // to dispatch, and resolves with its messages.
    bayeux(path, msgs, timeout, held) {
      return new Promise((resolve, reject) => {
        const x = new XMLHttpRequest();
        x.open('POST', this.url + path);
        x.timeout = timeout;
        x.setRequestHeader('Content-Type', 'application/json;charset=UTF-8');
        x.onload = () => {
          let out = null;
          try { out = JSON.parse(x.responseText); } catch (e) { /* not Bayeux: an error page */ }
          if (!Array.isArray(out)) return reject(new ChatError('CometD answered HTTP ' + x.status, x.status));
          this.dispatch(out);
          resolve(out);
        };
        x.onerror = () => reject(new ChatError('the network failed', 0));
        x.onabort = () => reject(new ChatError('stopped', 0));
        x.ontimeout = () => reject(new ChatError('no answer in ' + timeout / 1000 + ' s', 0));
        if (held) this.held = x;
        x.send(JSON.stringify(msgs));
      });
    }

    id() {
      return String(++this.ids);
    }

    // handshake makes a Bayeux session and starts the connect loop; callers
    // at the same time share one handshake. It rejects when it fails.
    handshake() {
      if (!this.shaking) this.shaking = this.shake().finally(() => { this.shaking = null; });
      return this.shaking;
    }

    async shake() {
      const out = await this.bayeux('/handshake', [{ channel: '/meta/handshake', version: '1.0', minimumVersion: '1.0',
        supportedConnectionTypes: ['long-polling'], id: this.id() }], TIMEOUT_MS);
      const r = out.find((m) => m.channel === '/meta/handshake') || {};
      if (!r.successful || !r.clientId) throw new ChatError('the CometD handshake failed: ' + (r.error || 'no answer'), 0);
      this.clientId = r.clientId;
      this.first = true;
      this.advise(r.advice);
      if (!this.running) this.loop();
      // A new session knows no chat: the listening one resumes its chat.
      if (this.session && this.session.chatId) this.resume(0);
    }

    advise(a) {
      if (!a) return;
      if (typeof a.timeout === 'number') this.timeout = a.timeout;
      if (typeof a.interval === 'number') this.interval = a.interval;
    }

    // lost forgets the Bayeux session clientId, which the server does not
    // know (402::Unknown client): the next message handshakes again.
    lost(clientId) {
      if (this.clientId === clientId) this.clientId = '';
    }

    // loop keeps one connect held while the transport runs: the server
    // answers it when it has something for the client (dispatch takes it)
    // or its timeout passed. A connect answered 402::Unknown client (advice
    // reconnect: handshake) handshakes again at once; one that failed is
    // tried again after a pause growing by a second, up to ten.
    async loop() {
      this.running = true;
      let backoff = 0;
      while (!this.stopped) {
        let pause = 0;
        try {
          if (!this.clientId) await this.handshake();
          const clientId = this.clientId;
          const connect = { channel: '/meta/connect', clientId: clientId, connectionType: 'long-polling', id: this.id() };
          if (this.first) connect.advice = { timeout: 0 }; // the first connect is answered at once
          const out = await this.bayeux('/connect', [connect], this.timeout + TIMEOUT_MS, true);
          const r = out.find((m) => m.channel === '/meta/connect') || {};
          if (r.successful) {
            this.first = false;
            this.advise(r.advice);
            backoff = 0;
            this.online();
            pause = this.interval;
          } else {
            const reconnect = (r.advice || {}).reconnect;
            if (reconnect === 'none') throw new ChatError('the server ended the CometD session: ' + (r.error || ''), 0);
            if (reconnect === 'handshake' || (r.error || '').startsWith('402')) this.lost(clientId);
            else pause = backoff = Math.min(MAX_BACKOFF_MS, backoff + BACKOFF_MS);
          }
        } catch (e) {
          if (this.stopped) break;
          this.offline(e.message);
          pause = backoff = Math.min(MAX_BACKOFF_MS, backoff + BACKOFF_MS);
        }
        if (pause) await sleep(pause);
      }
      this.running = false;
    }

    online() {
      const s = this.session;
      if (s && !s.ended && s.state === 'offline') s.setState('connected');
    }

    offline(why) {
      const s = this.session;
      if (s && !s.ended) s.setState('offline', why);
    }

    // dispatch takes the messages of an answer: on a chat channel, those
    // with data are the answers to publishes (with the publish's id) and the
    // pushed events (without one); acks and meta replies are left to the
    // caller.
    dispatch(msgs) {
      for (const m of msgs) {
        if (!m || typeof m.channel !== 'string' || m.channel.startsWith('/meta/') || !m.data) continue;
        const answer = m.id !== undefined; // to a publish, maybe one that timed out
        const resolve = answer && this.pending.get(String(m.id));
        this.pending.delete(String(m.id));
        this.notify(m.data, answer);
        if (resolve) resolve(m.data);
      }
    }

    // notify shows the events of an answer or notification a, and acts on a
    // notification's state (an answer's is its operation's to take): the
    // chat ended, or the server stopped pushing it after an error.
    notify(a, answer) {
      const s = this.session;
      if (!s) {
        if (a.statusCode === 0) this.early.push(a);
        return;
      }
      if (a.statusCode === 0) s.receive(a);
      if (answer || s.ended) return;
      try {
        s.answered({ status: httpStatus(a), json: a });
      } catch (e) {
        // answered has set the session's state; a chat that goes on is
        // pushed no more: attach to it again.
        this.attachedTo = '';
        this.resume(RESUME_MS);
      }
    }

    // request publishes operation op of session ('' is the create) with
    // data and resolves with the answer, as RestTransport.request does;
    // files and the operations without a CometD name go over REST.
    async request(session, op, data, file) {
      const operation = OPERATIONS[op];
      if (file || !operation) return this.rest.request(session, op, data, file);
      const fields = { operation: operation };
      const userData = {};
      for (const [k, v] of Object.entries(data)) {
        const u = /^userData\[(.+)\]$/.exec(k);
        if (u) userData[u[1]] = v;
        else fields[k] = v;
      }
      if (Object.keys(userData).length) fields.userData = userData;
      if (session.chatId) Object.assign(fields, { chatId: session.chatId, userId: session.keys.userId, secureKey: session.keys.secureKey });
      const channel = '/service/chatV2/' + session.service;
      for (let tries = 1; ; tries++) {
        if (!this.clientId) await this.handshake();
        const clientId = this.clientId;
        const r = await this.publish(channel, clientId, fields);
        if (r.status === 402 && tries < 3) { // the server lost the session: nothing was done
          this.lost(clientId);
          continue;
        }
        if (r.status === 200 && r.json.statusCode === 0 && !r.json.chatEnded && (operation === 'requestChat' || operation === 'requestNotifications')) {
          this.attachedTo = clientId;
        }
        return r;
      }
    }

    // publish publishes data on channel and resolves with the answer as
    // post() gives it: the REST-shaped answer, or a refused publish's
    // Bayeux error (its code as the status).
    publish(channel, clientId, data) {
      const id = this.id();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new ChatError('no answer in ' + TIMEOUT_MS / 1000 + ' s', 0));
        }, TIMEOUT_MS);
        this.pending.set(id, (a) => {
          clearTimeout(timer);
          resolve({ status: httpStatus(a), json: a, node: a.alias || '' });
        });
        this.bayeux('', [{ channel: channel, clientId: clientId, id: id, data: data }], TIMEOUT_MS).then((out) => {
          // The answer came with this POST, before the ack; or comes with
          // the held connect, when an event woke it first.
          const ack = out.find((m) => String(m.id) === id && m.successful !== undefined);
          if (!ack || ack.successful || !this.pending.has(id)) return;
          this.pending.delete(id);
          clearTimeout(timer);
          const err = String(ack.error || '');
          resolve({ status: Number(err.split(':')[0]) || 400, json: { statusCode: 2, errors: [{ message: 'CometD refused the operation: ' + err }] } });
        }, (e) => {
          this.pending.delete(id);
          clearTimeout(timer);
          reject(e);
        });
      });
    }

    // listen gets the session's events pushed: those that came with the
    // create's answer first; a chat this Bayeux session is not attached to
    // (a page reloaded) is resumed from session.next.
    listen(session) {
      this.session = session;
      this.stopped = false;
      for (const a of this.early.splice(0)) session.receive(a);
      if (!this.clientId || this.attachedTo !== this.clientId) this.resume(0);
    }

    // resume attaches the Bayeux session to the chat with
    // requestNotifications from session.next, after wait ms, and again
    // after a failure, until it is attached or the chat is over.
    async resume(wait) {
      if (this.resuming) return;
      this.resuming = true;
      const s = this.session;
      try {
        if (wait) await sleep(wait);
        while (!this.stopped && !s.ended && !(this.clientId && this.attachedTo === this.clientId)) {
          try {
            await s.act('requestNotifications', { transcriptPosition: s.next });
          } catch (e) {
            // act has set the session's state (an unknown or ended chat ends it)
          }
          if (this.stopped || s.ended || (this.clientId && this.attachedTo === this.clientId)) break;
          await sleep(RESUME_MS);
        }
      } finally {
        this.resuming = false;
      }
    }

    // hurry has nothing to do: events are pushed.
    hurry() {}

    // stop ends the connect loop and the Bayeux session.
    stop() {
      this.stopped = true;
      if (this.held) this.held.abort();
      if (this.clientId) {
        this.bayeux('/disconnect', [{ channel: '/meta/disconnect', clientId: this.clientId, id: this.id() }], TIMEOUT_MS).catch(() => {});
        this.clientId = '';
      }
    }
  }

  // Session is one participant in one chat: its credentials, the position
  // gets events from, the indexes it has seen, and its state.
  class Session {
    // opts: service, transport (a RestTransport by default, or a
    // CometTransport), and the callbacks onEvent(m) for each new event in
    // index order, onNode(from, to) when an answer names another node
    // serving the chat (from is '' the first time), onState(state, detail)
    // with state 'connected', 'reconnecting', 'offline' or 'ended'.
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
    // does, and listens to it.
    async create(nickname, subject) {
      let a;
      try {
        a = await this.act('', { nickname: nickname, firstName: '', lastName: '', emailAddress: '', subject: subject || '', text: '',
          'userData[_genesys_source]': 'web', 'userData[_genesys_pageTitle]': document.title });
      } catch (e) {
        this.transport.stop(); // a CometD session made for the create ends with it
        throw e;
      }
      this.take(a);
      this.transport.listen(this);
    }

    // join joins chat chatId as an agent named nickname and listens to it.
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
      return this.answered(r);
    }

    // answered takes answer r ({status, json}) of an operation, or of a
    // notification pushed over CometD: it sets the state, ends the session
    // on an ended or gone chat, and returns the answer of a success or a
    // retry; it throws a ChatError otherwise.
    answered(r) {
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

    // receive shows the events of an answer (a refresh, or a CometD answer
    // or notification): each index once, in order, after saying which node
    // served them when it changed.
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

  // bindKill wires a button that kills the node serving session's chat
  // with SIGKILL, through the demo's POST /demo/processes/{name}/kill (the
  // endpoint of the dashboard's kill -9 buttons; only the demo serves these
  // pages and that endpoint). The node is the one the chat's answers name
  // (alias). It returns a function that shows the button for the session's
  // node now: the pages call it when the node changes and when the chat
  // ends. After a kill the button waits for the chat to name another node.
  function bindKill(button, session, view) {
    let killed = '';
    const update = () => {
      const node = session.node;
      button.hidden = !node || session.ended;
      button.dataset.node = node;
      button.disabled = node === killed;
      button.textContent = node === killed ? node + ' killed: the chat moves…' : 'Kill ' + node;
      button.title = 'kill -9 ' + node + ', the node that serves this chat: it ends as in a crash, and the chat moves to another node';
    };
    button.addEventListener('click', async () => {
      const node = session.node;
      if (!node || node === killed) return;
      killed = node;
      update();
      try {
        const r = await fetch('/demo/processes/' + encodeURIComponent(node) + '/kill',
          { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}', credentials: 'omit' });
        if (!r.ok) throw new Error((await r.json().catch(() => ({}))).error || 'HTTP ' + r.status);
      } catch (e) {
        killed = '';
        update();
        view.note('Cannot kill ' + node + ': ' + e.message, 'error');
        return;
      }
      view.note(node + ' was killed (SIGKILL).', 'killed');
    });
    update();
    return update;
  }

  return { Session, RestTransport, CometTransport, ChatError, Transcript, bindComposer, bindKill, el, clock };
})();
