/* Progressive enhancement of the episode and show pages; the pages work without it.
   - chapter and transcript timestamps become buttons that seek the player (#lecteur);
   - the chapter and the transcript cue being played are highlighted (class "current",
     aria-current="true");
   - the feed address gets a "copy" button.
   No framework, no request to any other site. */
(function () {
  "use strict";

  var media = document.getElementById("lecteur");

  function enhanceCues(list) {
    var cues = Array.prototype.slice.call(list.querySelectorAll(".cue[data-start]"));
    cues.forEach(function (cue) {
      var slot = cue.querySelector(".cue-time");
      if (!slot || !media) return;
      var start = parseFloat(cue.getAttribute("data-start"));
      var button = document.createElement("button");
      button.type = "button";
      button.className = "seek";
      button.setAttribute("aria-label", "Lire à partir de " + slot.textContent.trim());
      while (slot.firstChild) button.appendChild(slot.firstChild);
      slot.appendChild(button);
      button.addEventListener("click", function () {
        media.currentTime = start;
        var playing = media.play();
        if (playing && playing.catch) playing.catch(function () {});
        highlight();
      });
    });
    return cues;
  }

  var lists = Array.prototype.map.call(document.querySelectorAll("[data-cues]"), enhanceCues);

  function highlight() {
    if (!media) return;
    var t = media.currentTime;
    lists.forEach(function (cues) {
      var current = null;
      cues.forEach(function (cue) {
        var start = parseFloat(cue.getAttribute("data-start"));
        var end = cue.hasAttribute("data-end") ? parseFloat(cue.getAttribute("data-end")) : Infinity;
        if (t >= start && t < end) current = cue;
      });
      cues.forEach(function (cue) {
        var on = cue === current;
        cue.classList.toggle("current", on);
        if (on) cue.setAttribute("aria-current", "true");
        else cue.removeAttribute("aria-current");
      });
    });
  }

  if (media) {
    media.addEventListener("timeupdate", highlight);
    media.addEventListener("seeked", highlight);
  }

  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentNode.querySelector(".copy-status");
    if (!input) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      function done(ok) {
        if (status) status.textContent = ok ? "Adresse copiée." : "Copie impossible : sélectionnez l’adresse.";
      }
      input.select();
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(input.value).then(function () { done(true); }, function () {
          done(document.execCommand && document.execCommand("copy"));
        });
      } else {
        done(document.execCommand && document.execCommand("copy"));
      }
    });
  });
})();
