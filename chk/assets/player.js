/* Progressive enhancement of the pages; everything works and is readable without it.
   - Several players on a page (a video and its audio-only version, a show's episode list):
     starting one pauses the others, and the chapters and transcript follow the one in use.
   - Chapter and transcript timestamps become buttons that seek that player; the chapter and the
     transcript cue being played are highlighted (class "current", aria-current="true").
   - A long transcript is folded after a few cues, with a button to show it all (print shows all).
   - Fields to copy (the feed address, the embed code) get a "copy" button.
   No framework, no request to any other site. */
(function () {
  "use strict";

  var players = Array.prototype.slice.call(document.querySelectorAll("audio, video"));
  var current = document.getElementById("lecteur") || players[0] || null;

  function seek(start) {
    if (!current) return;
    current.currentTime = start;
    var playing = current.play();
    if (playing && playing.catch) playing.catch(function () {});
    highlight();
  }

  function enhanceCues(list) {
    var cues = Array.prototype.slice.call(list.querySelectorAll(".cue[data-start]"));
    cues.forEach(function (cue) {
      var slot = cue.querySelector(".cue-time");
      if (!slot || !current) return;
      var start = parseFloat(cue.getAttribute("data-start"));
      var button = document.createElement("button");
      button.type = "button";
      button.className = "seek";
      button.setAttribute("aria-label", "Lire à partir de " + slot.textContent.trim());
      while (slot.firstChild) button.appendChild(slot.firstChild);
      slot.appendChild(button);
      button.addEventListener("click", function () { seek(start); });
    });
    return cues;
  }

  var lists = Array.prototype.map.call(document.querySelectorAll("[data-cues]"), enhanceCues);

  function highlight() {
    if (!current) return;
    var t = current.currentTime;
    lists.forEach(function (cues) {
      var found = null;
      cues.forEach(function (cue) {
        var start = parseFloat(cue.getAttribute("data-start"));
        var end = cue.hasAttribute("data-end") ? parseFloat(cue.getAttribute("data-end")) : Infinity;
        if (t >= start && t < end) found = cue;
      });
      cues.forEach(function (cue) {
        var on = cue === found;
        cue.classList.toggle("current", on);
        if (on) cue.setAttribute("aria-current", "true");
        else cue.removeAttribute("aria-current");
      });
    });
  }

  players.forEach(function (player) {
    player.addEventListener("play", function () {
      players.forEach(function (other) {
        if (other !== player && !other.paused) other.pause();
      });
      current = player;
      highlight();
    });
    ["timeupdate", "seeked"].forEach(function (name) {
      player.addEventListener(name, function () {
        if (player === current) highlight();
      });
    });
  });

  // A long transcript: the first cues, then a button that shows the rest.
  Array.prototype.forEach.call(document.querySelectorAll("[data-fold]"), function (box) {
    var keep = parseInt(box.getAttribute("data-fold"), 10) || 4;
    var rest = Array.prototype.slice.call(box.querySelectorAll(".cue")).slice(keep);
    if (rest.length < 2) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button unfold";
    button.setAttribute("aria-controls", box.id);
    function show(open) {
      rest.forEach(function (cue) { cue.hidden = !open; });
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.textContent = open ? "Réduire la transcription" : "Lire toute la transcription (" + rest.length + " passages de plus)";
    }
    button.addEventListener("click", function () { show(button.getAttribute("aria-expanded") !== "true"); });
    box.parentNode.insertBefore(button, box.nextSibling);
    show(false);
  });

  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var box = button.closest(".copy-field");
    var status = box && box.querySelector(".copy-status");
    var copied = button.getAttribute("data-copied") || "Adresse copiée.";
    if (!field) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      function done(ok) {
        if (status) status.textContent = ok ? copied : "Copie impossible : sélectionnez le texte.";
      }
      field.select();
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(function () { done(true); }, function () {
          done(document.execCommand && document.execCommand("copy"));
        });
      } else {
        done(document.execCommand && document.execCommand("copy"));
      }
    });
  });
})();
