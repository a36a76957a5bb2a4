// Shopper pages: click tracking, the similar-items carousel, shop the look.
"use strict";

// ---- events -------------------------------------------------------------------------------
// Clicks are reported with the impression's request id and the product's position; the
// event id makes retries harmless. sendBeacon survives the navigation the click starts.
function sendEvents(events) {
  const body = JSON.stringify({ events });
  const blob = new Blob([body], { type: "application/json" });
  if (!(navigator.sendBeacon && navigator.sendBeacon("/api/events", blob))) {
    fetch("/api/events", { method: "POST", body, keepalive: true,
                           headers: { "Content-Type": "application/json" } });
  }
}

function trackedClick(link) {
  const event = { event_id: crypto.randomUUID(), kind: "click", request_id: link.dataset.requestId,
                  sku: link.dataset.sku, position: Number(link.dataset.position) };
  sendEvents([event]);
  // Remembered so that an add-to-cart on the product page is credited to the same list.
  sessionStorage.setItem("lastClick", JSON.stringify(event));
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("[data-track-clicks] a[data-request-id]");
  if (link) trackedClick(link);
});

// ---- product cards ------------------------------------------------------------------------
function productCard(hit, position, requestId) {
  const item = document.createElement("li");
  item.className = "card";
  const link = document.createElement("a");
  link.className = "card-link";
  link.href = `/products/${encodeURIComponent(hit.sku)}/`;
  if (requestId) {
    Object.assign(link.dataset, { requestId, position: String(position), sku: hit.sku });
  }
  const image = document.createElement("img");
  Object.assign(image, { src: hit.image_url, alt: hit.title, loading: "lazy", decoding: "async" });
  const title = document.createElement("span");
  title.className = "card-title";
  title.textContent = hit.title;
  link.append(image, title);
  item.append(link);
  return item;
}

// ---- product page -------------------------------------------------------------------------
async function loadSimilar(section) {
  const list = section.querySelector(".carousel");
  const sku = section.dataset.similarFor;
  try {
    const response = await fetch(`/api/products/${encodeURIComponent(sku)}/similar?k=12`);
    const body = await response.json();
    if (!response.ok) throw new Error(body.error ? body.error.message : response.statusText);
    const requestId = response.headers.get("X-Request-ID");
    list.replaceChildren(...body.map((hit, position) => productCard(hit, position, requestId)));
    if (!body.length) list.innerHTML = '<li class="empty">No similar items yet.</li>';
  } catch (error) {
    list.innerHTML = "";
    const item = document.createElement("li");
    item.className = "empty";
    item.textContent = `Similar items are not available right now (${error.message}).`;
    list.append(item);
  }
  section.querySelectorAll("[data-scroll]").forEach((button) => {
    button.addEventListener("click", () => {
      list.scrollBy({ left: Number(button.dataset.scroll) * list.clientWidth * 0.8,
                      behavior: "smooth" });
    });
  });
}

function setUpAddToCart(button) {
  button.addEventListener("click", () => {
    const last = JSON.parse(sessionStorage.getItem("lastClick") || "null");
    if (last && last.sku === button.dataset.addToCart) {
      sendEvents([{ ...last, event_id: crypto.randomUUID(), kind: "add_to_cart" }]);
    }
    document.querySelector(".added").hidden = false;
  });
}

// ---- shop the look ------------------------------------------------------------------------
function setUpLook(form) {
  const input = form.querySelector("input[type=file]");
  const dropzone = form.querySelector("[data-dropzone]");
  const error = document.querySelector("[data-look-error]");
  const loading = document.querySelector("[data-look-loading]");
  const result = document.querySelector("[data-look-result]");
  const image = document.querySelector("[data-look-image]");
  const hotspots = document.querySelector("[data-hotspots]");
  const regions = document.querySelector("[data-regions]");
  const photo = document.querySelector("[data-look-photo]");
  const drawn = document.querySelector("[data-draw-box]");
  const maxBytes = Number(form.dataset.maxBytes);
  let file = null;

  function showError(message) {
    error.textContent = message;
    error.hidden = !message;
  }

  async function search(box) {
    showError("");
    loading.hidden = false;
    const data = new FormData();
    data.append("image", file);
    data.append("k", "8");
    if (box) data.append("box", box.map((v) => Math.round(v)).join(","));
    try {
      const response = await fetch("/api/search/image", { method: "POST", body: data });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        const fields = (body.error && body.error.fields) || {};
        const detail = (fields.image || fields.box || [])[0];
        throw new Error(detail ? `That photo can't be used: ${detail}.`
                               : (body.error && body.error.message) || "Search failed.");
      }
      render(body.regions, Boolean(box));
    } catch (problem) {
      showError(problem.message || "Something went wrong. Please try again.");
    } finally {
      loading.hidden = true;
    }
  }

  function render(found, fromBox) {
    result.hidden = false;
    hotspots.replaceChildren();
    if (!fromBox) regions.replaceChildren();
    const useful = found.filter((region) => region.results.length);
    if (!useful.length) {
      showError("We couldn't find matching products in this photo. Try drawing a box around a garment.");
      return;
    }
    useful.forEach((region, index) => {
      const [x1, y1, x2, y2] = region.box;
      const width = image.naturalWidth, height = image.naturalHeight;
      const label = `${region.class || "Whole photo"} ${fromBox ? "(your box)" : index + 1}`;
      const hotspot = document.createElement("button");
      hotspot.type = "button";
      hotspot.className = "hotspot";
      hotspot.setAttribute("aria-label", `Show matches for ${label}`);
      Object.assign(hotspot.style, { left: `${(100 * x1) / width}%`, top: `${(100 * y1) / height}%`,
                                     width: `${(100 * (x2 - x1)) / width}%`,
                                     height: `${(100 * (y2 - y1)) / height}%` });
      const strip = document.createElement("section");
      strip.className = "region";
      const heading = document.createElement("h2");
      heading.textContent = label;
      heading.tabIndex = -1;
      const list = document.createElement("ul");
      list.className = "carousel";
      list.dataset.trackClicks = "";
      list.append(...region.results.map((hit, position) => productCard(hit, position, region.request_id)));
      strip.append(heading, list);
      hotspot.addEventListener("click", () => {
        strip.scrollIntoView({ behavior: "smooth", block: "nearest" });
        heading.focus({ preventScroll: true });
      });
      if (width && height) hotspots.append(hotspot);
      if (fromBox) regions.prepend(strip); else regions.append(strip);
    });
  }

  function accept(chosen) {
    if (!chosen) return;
    // Systems that don't know HEIC report it as "" or application/octet-stream.
    const heic = /\.(heic|heif)$/i.test(chosen.name);
    if (!chosen.type.startsWith("image/") && !heic) {
      showError("Please choose a photo (JPEG, HEIC, PNG, WebP, GIF, BMP or TIFF).");
      return;
    }
    if (chosen.size > maxBytes) {
      showError(`That photo is ${(chosen.size / 2 ** 20).toFixed(1)} MB; the limit is ${Math.floor(maxBytes / 2 ** 20)} MB.`);
      return;
    }
    file = chosen;
    image.src = URL.createObjectURL(chosen);
    image.onload = () => {
      photo.hidden = false;
      search(null);
    };
    // Most browsers can't show a HEIC photo (an iPhone's default) but the server reads it:
    // search anyway and list the matches, without the photo and its hotspots.
    image.onerror = () => {
      photo.hidden = true;
      search(null);
    };
  }

  input.addEventListener("change", () => accept(input.files[0]));
  ["dragenter", "dragover"].forEach((name) => dropzone.addEventListener(name, (event) => {
    event.preventDefault();
    dropzone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((name) => dropzone.addEventListener(name, () => dropzone.classList.remove("over")));
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    accept(event.dataTransfer.files[0]);
  });

  // Drawing a box: pointer events work for mouse, pen and touch alike.
  let start = null;
  function point(event) {
    const rect = image.getBoundingClientRect();
    return [Math.min(Math.max(event.clientX - rect.left, 0), rect.width),
            Math.min(Math.max(event.clientY - rect.top, 0), rect.height)];
  }
  photo.addEventListener("pointerdown", (event) => {
    if (event.target.closest(".hotspot") || !file) return;
    start = point(event);
    photo.setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  photo.addEventListener("pointermove", (event) => {
    if (!start) return;
    const [x, y] = point(event);
    Object.assign(drawn.style, { left: `${Math.min(x, start[0])}px`, top: `${Math.min(y, start[1])}px`,
                                 width: `${Math.abs(x - start[0])}px`, height: `${Math.abs(y - start[1])}px` });
    drawn.hidden = false;
  });
  photo.addEventListener("pointerup", (event) => {
    if (!start) return;
    const end = point(event);
    const scale = image.naturalWidth / image.getBoundingClientRect().width;
    const box = [Math.min(start[0], end[0]), Math.min(start[1], end[1]),
                 Math.max(start[0], end[0]), Math.max(start[1], end[1])].map((v) => v * scale);
    start = null;
    drawn.hidden = true;
    if (box[2] - box[0] >= 8 && box[3] - box[1] >= 8) search(box);
  });
}

// ---- start --------------------------------------------------------------------------------
document.querySelectorAll("[data-similar-for]").forEach(loadSimilar);
document.querySelectorAll("[data-add-to-cart]").forEach(setUpAddToCart);
document.querySelectorAll("[data-look-form]").forEach(setUpLook);
