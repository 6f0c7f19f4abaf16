// The studio window's static markup; main.ts wires it up.
export const shellHtml = `
<div id="toast" class="toast" role="alert" hidden></div>

<section id="onboarding" class="onboarding" hidden>
  <div class="onboard-card">
    <div class="brand"><span class="logo">◆</span> AeThex Studio</div>
    <ol class="steps">
      <li data-step="server">Server</li><li data-step="account">Account</li><li data-step="profile">Profile</li>
    </ol>
    <div id="onboard-error" class="error-box" role="alert" hidden></div>

    <div id="step-server">
      <h1>Where do you stream to?</h1>
      <p class="muted">The built-in server runs inside the studio: nothing to set up.</p>
      <button id="btn-local" class="primary wide">Use the built-in server</button>
      <div class="or"><span>or connect to your own</span></div>
      <div class="row">
        <input id="server-url" placeholder="https://live.example.com" autocomplete="url" />
        <button id="btn-connect" class="secondary">Connect</button>
      </div>
    </div>

    <div id="step-account" hidden>
      <h1>Your account</h1>
      <p class="muted small" id="account-server"></p>
      <div class="tabs"><button id="tab-signup" type="button">Sign up</button><button id="tab-signin" type="button">Sign in</button></div>
      <form id="form-auth">
        <label>Username<input id="username" autocomplete="username" required minlength="3" maxlength="25" /></label>
        <label>Password<input id="password" type="password" autocomplete="current-password" required minlength="8" /></label>
        <button id="btn-auth" class="primary wide" type="submit">Create account</button>
      </form>
      <button id="back-server" class="link" type="button">← Choose another server</button>
    </div>

    <div id="step-profile" hidden>
      <h1>How viewers see you</h1>
      <form id="form-profile">
        <label>Display name<input id="display-name" maxlength="50" required /></label>
        <label>Bio<textarea id="bio" rows="3" maxlength="300" placeholder="What do you stream?"></textarea></label>
        <button id="btn-profile" class="primary wide" type="submit">Open the studio</button>
      </form>
    </div>
  </div>
</section>

<section id="studio" class="studio" hidden>
  <header class="topbar">
    <div class="brand"><span class="logo">◆</span> AeThex Studio</div>
    <input id="title" class="title-input" placeholder="Stream title" maxlength="140" />
    <div class="top-stats">
      <span id="live-badge" class="live-badge" hidden>● LIVE</span>
      <span class="timer" id="live-timer">0:00</span>
      <span class="viewers" title="Viewers"><svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"><path fill="currentColor" d="M12 5C6.5 5 2.7 9.2 1.5 12c1.2 2.8 5 7 10.5 7s9.3-4.2 10.5-7C21.3 9.2 17.5 5 12 5zm0 11.5A4.5 4.5 0 1 1 12 7.5a4.5 4.5 0 0 1 0 9zm0-2.5a2 2 0 1 0 0-4 2 2 0 0 0 0 4z"/></svg><b id="viewer-count">0</b></span>
    </div>
    <button id="btn-golive" class="golive">Go Live</button>
    <button id="btn-end" class="end" hidden>End Stream</button>
    <button id="btn-settings" class="icon" title="Settings">⚙</button>
    <div class="me"><span id="me-avatar" class="avatar">?</span><span id="me-name"></span><small id="server-label" class="muted"></small></div>
  </header>

  <aside class="left">
    <section class="panel">
      <h2>Sources</h2>
      <div class="seg">
        <button data-source="test">Test</button><button data-source="screen">Screen</button><button data-source="camera">Camera</button>
      </div>
      <label class="switch"><input type="checkbox" id="pip" /><span></span>Camera picture-in-picture</label>
      <label class="switch"><input type="checkbox" id="mic" /><span></span>Microphone</label>
      <div class="audio">
        <button id="btn-mute" class="ghost small">Mute</button>
        <input id="volume" type="range" min="0" max="200" value="100" aria-label="Volume" />
      </div>
      <div class="meter" aria-label="Audio level"><div id="meter-fill" class="meter-fill"></div><div id="meter-peak" class="meter-peak"></div></div>
    </section>
    <section class="panel">
      <h2>Destinations</h2>
      <ul id="dest-list" class="dest-list"></ul>
      <details class="add-dest"><summary>Add RTMP / SRT destination</summary>
        <form id="form-dest">
          <input id="dest-name" placeholder="Name (e.g. Twitch)" />
          <input id="dest-url" placeholder="rtmp://live.twitch.tv/app or srt://host:port" />
          <input id="dest-key" type="password" placeholder="Stream key (kept in the OS keyring)" autocomplete="off" />
          <button class="secondary" type="submit">Add</button>
        </form>
      </details>
    </section>
    <section class="panel">
      <h2>Recordings <button id="btn-open-rec" class="ghost small">Open folder</button></h2>
      <ul id="rec-list" class="rec-list"></ul>
    </section>
  </aside>

  <main class="center">
    <div class="preview">
      <img id="preview-img" alt="Preview" />
      <div id="preview-state" class="preview-state">Starting preview…</div>
    </div>
    <footer class="statsbar">
      <div class="stat"><small>Bitrate</small><b id="st-bitrate">–</b></div>
      <svg class="plot" viewBox="0 0 160 32" preserveAspectRatio="none"><polyline id="plot-line" points="" /></svg>
      <div class="stat"><small>FPS</small><b id="st-fps">–</b></div>
      <div class="stat"><small>Dropped</small><b id="st-dropped">0</b></div>
      <div class="stat"><small>CPU</small><b id="st-cpu">–</b></div>
      <div class="stat"><small>Memory</small><b id="st-mem">–</b></div>
      <div class="stat"><small>Encoder</small><b id="st-encoder">–</b></div>
      <div id="st-outputs" class="outputs"></div>
    </footer>
  </main>

  <aside class="right">
    <div class="chat-tabs"><button data-tab="chat" class="active">Chat</button><button data-tab="log">Mod log</button>
      <label class="switch small slow"><input type="checkbox" id="slow" /><span></span>Slow</label></div>
    <div id="chat-pane" class="chat-pane">
      <div id="chat-state" class="muted small"></div>
      <ul id="chat-list" class="chat-list"></ul>
      <form id="form-chat" class="chat-form"><input id="chat-input" placeholder="Say something…" maxlength="500" autocomplete="off" /><button id="chat-send" class="secondary" type="submit">Send</button></form>
    </div>
    <div id="log-pane" class="chat-pane" hidden><ul id="mod-log" class="mod-log"></ul></div>
  </aside>

  <div id="user-menu" class="user-menu" hidden>
    <div id="user-menu-name" class="user-menu-name"></div>
    <button data-act="timeout">Timeout 10 min</button>
    <button data-act="ban" class="danger">Ban</button>
    <button data-act="unban">Unban</button>
  </div>

  <dialog id="dlg-settings">
    <form id="form-settings">
      <h2>Settings</h2>
      <label>Resolution<select id="set-resolution"><option value="1920x1080">1080p</option><option value="1280x720">720p</option><option value="854x480">480p</option><option value="640x360">360p</option></select></label>
      <label>Frame rate<select id="set-fps"><option>24</option><option>30</option><option>60</option></select></label>
      <label>Video bitrate (kbit/s)<input id="set-bitrate" type="number" min="300" max="20000" step="100" /></label>
      <label>Keyframe interval (s)<input id="set-keyframe" type="number" min="0.25" max="10" step="0.25" /></label>
      <label>Encoder<select id="set-encoder"><option value="auto">Automatic (hardware if it works)</option><option value="x264">x264 (software)</option><option value="vaapi">VA-API</option><option value="nvenc">NVENC</option></select></label>
      <label>Recording folder (empty = don't record)<input id="set-recdir" placeholder="/home/you/Videos/AeThex" /></label>
      <div class="dialog-actions"><button id="btn-signout" type="button" class="ghost danger">Sign out</button><span class="grow"></span><button id="btn-settings-cancel" type="button" class="ghost">Cancel</button><button class="primary" type="submit">Save</button></div>
    </form>
  </dialog>
</section>
`;
