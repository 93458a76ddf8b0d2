#!/usr/bin/env node
// Reader-side checks of the generated site in headless Chromium.
//
// Usage: node .ci/browser-check.mjs [SITE_DIR] [SCREENSHOT_DIR]
//   SITE_DIR        default: site
//   SCREENSHOT_DIR  default: .ci/cache/screenshots
//
// Every .html file under SITE_DIR is opened through a file:// URL and must:
//   - load without console errors or warnings, uncaught exceptions, failed
//     requests, or responses with status >= 400;
//   - make no http(s) request at all, and reference no http(s) resource from
//     <img>, <source>, <object>, <embed>, <iframe>, <video>, <audio>,
//     <link rel=stylesheet|icon|preload|modulepreload|manifest>, <script src>,
//     or SVG <image>/<use> (the site must be self-contained; plain <a href>
//     links to other sites are allowed);
//   - have exactly one <h1>, a non-empty <title>, a `lang` on <html>;
//   - give every outermost <svg> a non-empty <title> child or aria-label(ledby)
//     and every <img> a non-empty alt (or title), unless marked decorative
//     with aria-hidden="true";
//   - show no MathML <merror> (LaTeX that did not parse), and show display
//     math at text size, centred;
//   - not overflow horizontally at phone width (390x844, mobile viewport):
//     document.scrollingElement.scrollWidth <= 391.
// axe-core runs on every page in light and dark (WCAG 2.1 A/AA, contrast
// included); search, the theme toggle and the phone menu are exercised; the
// front page, the first chapter and the first model page are screenshotted
// at desktop (1280x800) and phone (390x844) width in both themes.
//
// playwright-core is loaded from .ci/cache/node (installed by .ci/run with
// `npm ci`), or from the folder named by CI_NODE_DIR.

import { createRequire } from 'node:module';
import { readdirSync, mkdirSync, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = path.resolve(process.env.CI_NODE_DIR || path.join(here, 'cache', 'node'));
const require = createRequire(path.join(nodeDir, 'package.json'));
let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch (e) {
  console.error(`browser-check: cannot load playwright-core from ${nodeDir}/node_modules ` +
    `(run .ci/run, or: npm ci --ignore-scripts in that folder): ${e.message}`);
  process.exit(2);
}

const siteDir = path.resolve(process.argv[2] || 'site');
const shotDir = path.resolve(process.argv[3] || path.join(here, 'cache', 'screenshots'));
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const NAV_TIMEOUT_MS = 30_000;

if (!existsSync(siteDir) || !statSync(siteDir).isDirectory()) {
  console.error(`browser-check: ${siteDir} is not a directory`);
  process.exit(2);
}

function htmlFiles(dir) {
  const out = [];
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) out.push(...htmlFiles(p));
    else if (ent.isFile() && /\.html?$/i.test(ent.name)) out.push(p);
  }
  return out;
}

const files = htmlFiles(siteDir).sort();
if (files.length === 0) {
  console.error(`browser-check: no .html files under ${siteDir}`);
  process.exit(1);
}

// Runs inside the page: static checks on the loaded DOM.
function domChecks() {
  const problems = [];
  const isRemote = (v) => typeof v === 'string' && /^\s*(https?:)?\/\//i.test(v);
  const srcsetRemote = (v) => (v || '').split(',').some((part) => isRemote(part.trim().split(/\s+/)[0] || ''));
  const describe = (el) => {
    const tag = el.tagName.toLowerCase();
    const id = el.id ? `#${el.id}` : '';
    return `<${tag}${id}>`;
  };

  // Self-contained: no resource from the network.
  const resourceAttrs = [
    ['img', 'src'], ['img', 'srcset'], ['source', 'src'], ['source', 'srcset'],
    ['object', 'data'], ['embed', 'src'], ['iframe', 'src'], ['video', 'src'],
    ['video', 'poster'], ['audio', 'src'], ['track', 'src'], ['script', 'src'],
    ['input', 'src'],
  ];
  for (const [tag, attr] of resourceAttrs) {
    for (const el of document.querySelectorAll(`${tag}[${attr}]`)) {
      const v = el.getAttribute(attr);
      const remote = attr === 'srcset' ? srcsetRemote(v) : isRemote(v);
      if (remote) problems.push(`remote resource ${describe(el)} ${attr}="${v}"`);
    }
  }
  for (const el of document.querySelectorAll('link[href]')) {
    const rel = (el.getAttribute('rel') || '').toLowerCase().split(/\s+/);
    const loads = ['stylesheet', 'icon', 'apple-touch-icon', 'preload', 'modulepreload', 'prefetch', 'manifest', 'mask-icon'];
    if (rel.some((r) => loads.includes(r)) && isRemote(el.getAttribute('href'))) {
      problems.push(`remote resource <link rel="${el.getAttribute('rel')}"> href="${el.getAttribute('href')}"`);
    }
  }
  for (const el of document.querySelectorAll('image, use, feImage')) {
    if (!(el instanceof SVGElement)) continue;
    const v = el.getAttribute('href') || el.getAttribute('xlink:href');
    if (isRemote(v)) problems.push(`remote resource <${el.tagName}> href="${v}"`);
  }

  // Structure.
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push(`expected exactly one <h1>, found ${h1}`);
  const titleEl = document.querySelector('head > title');
  const title = (document.title || '').trim();
  if (!titleEl || !title) problems.push('missing or empty <title>');
  const lang = (document.documentElement.getAttribute('lang') || '').trim();
  if (!lang) problems.push('missing lang on <html>');

  // Text alternatives.
  const decorative = (el) => el.getAttribute('aria-hidden') === 'true';
  const svgs = [...document.querySelectorAll('svg')].filter((s) => !s.parentElement || !s.parentElement.closest('svg'));
  let svgIndex = 0;
  for (const svg of svgs) {
    svgIndex++;
    if (decorative(svg)) continue;
    const t = [...svg.children].find((c) => c.tagName.toLowerCase() === 'title');
    const label = (svg.getAttribute('aria-label') || '').trim();
    const labelledby = (svg.getAttribute('aria-labelledby') || '').trim().split(/\s+/).filter(Boolean)
      .map((id) => document.getElementById(id)).filter(Boolean)
      .map((el) => el.textContent.trim()).join(' ');
    if (!(t && t.textContent.trim()) && !label && !labelledby) {
      problems.push(`<svg> #${svgIndex}${svg.id ? ` (#${svg.id})` : ''} has no <title> child or aria-label`);
    }
  }
  for (const img of document.querySelectorAll('img')) {
    if (decorative(img)) continue;
    const alt = (img.getAttribute('alt') || '').trim();
    const t = (img.getAttribute('title') || '').trim();
    if (!alt && !t) problems.push(`<img src="${img.getAttribute('src')}"> has no alt or title`);
  }

  // LaTeX that failed to parse is rendered as <merror> (pulldown-latex does
  // not fail the build): the reader would see an error message.
  for (const el of document.querySelectorAll('merror')) {
    problems.push(`math error shown to the reader: "${el.textContent.replace(/\s+/g, " ").trim().slice(0, 120)}"`);
  }

  // Display math at text size and centred in its column.
  const bodySize = parseFloat(getComputedStyle(document.body).fontSize);
  for (const m of document.querySelectorAll('math[display="block"]')) {
    const size = parseFloat(getComputedStyle(m).fontSize);
    if (size < bodySize * 0.95) problems.push(`display math at ${size}px, smaller than the ${bodySize}px text`);
    const row = m.firstElementChild;
    if (row && m.getBoundingClientRect().width > 0) {
      const box = m.getBoundingClientRect(), inner = row.getBoundingClientRect();
      const left = inner.left - box.left, right = box.right - inner.right;
      if (inner.width < box.width - 4 && Math.abs(left - right) > 4) {
        problems.push(`display math not centred (${left.toFixed(0)}px left, ${right.toFixed(0)}px right)`);
      }
    }
  }

  return {
    problems,
    title,
    h1,
    svgs: svgs.length,
    imgs: document.querySelectorAll('img').length,
    maths: document.querySelectorAll('math').length,
  };
}

// Runs inside the page at phone width: horizontal overflow.
function overflowCheck(viewportWidth) {
  const se = document.scrollingElement || document.documentElement;
  const scrollWidth = se.scrollWidth;
  const culprits = [];
  if (scrollWidth > viewportWidth + 1) {
    // Name the outermost elements that stick out to the right.
    // An element is wide if its box, or content that it lets spill out
    // (overflow-x: visible), reaches past the right edge.
    const wide = (el) => {
      const r = el.getBoundingClientRect();
      if (r.right > viewportWidth + 1) return true;
      const ox = getComputedStyle(el).overflowX;
      return ox === 'visible' && r.left + el.scrollWidth > viewportWidth + 1;
    };
    for (const el of document.body.querySelectorAll('*')) {
      if (wide(el) && !(el.parentElement && el.parentElement !== document.body && wide(el.parentElement))) {
        const cls = el.getAttribute('class') ? `.${el.getAttribute('class').trim().split(/\s+/).join('.')}` : '';
        culprits.push(`<${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${cls}> right=${Math.round(el.getBoundingClientRect().left + Math.max(el.scrollWidth, el.getBoundingClientRect().width))}`);
        if (culprits.length >= 5) break;
      }
    }
  }
  const hasViewportMeta = !!document.querySelector('meta[name="viewport" i][content*="width=device-width" i]');
  return { scrollWidth, innerWidth: window.innerWidth, culprits, hasViewportMeta };
}

// One tab per context, reused for every page (a new tab per page costs a
// renderer start). Events are collected into `state.problems` of the page
// being visited.
async function openTab(ctx) {
  const page = await ctx.newPage();
  const state = { problems: [], blocked: new Set() };
  // The site must not touch the network: record and block every http(s)/ws request.
  await page.route(/^(https?|wss?):/i, (route) => {
    const u = route.request().url();
    state.blocked.add(u);
    state.problems.push(`network request to ${u} (blocked: the site must be self-contained)`);
    return route.abort('blockedbyclient');
  });
  page.on('console', (msg) => {
    const type = msg.type();
    if (type === 'error' || type === 'warning') {
      const loc = msg.location();
      // A blocked remote request is already reported once.
      if (loc && state.blocked.has(loc.url) && /^Failed to load resource/.test(msg.text())) return;
      const where = loc && loc.url ? ` (${loc.url}${loc.lineNumber != null ? ':' + loc.lineNumber : ''})` : '';
      state.problems.push(`console ${type}: ${msg.text()}${where}`);
    }
  });
  page.on('pageerror', (err) => state.problems.push(`uncaught exception: ${err.message}`));
  page.on('requestfailed', (req) => {
    if (state.blocked.has(req.url())) return;
    const failure = req.failure();
    // A <picture> that switches source when the viewport is resized aborts
    // the image it no longer needs: that file exists (a missing one fails
    // with ERR_FILE_NOT_FOUND, which is still reported, and vnu and lychee
    // check every reference).
    if (failure && failure.errorText === 'net::ERR_ABORTED' && /\.svg$/.test(req.url())) return;
    state.problems.push(`request failed: ${req.url()} (${failure ? failure.errorText : 'unknown'})`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400) state.problems.push(`HTTP ${res.status()} for ${res.url()}`);
  });
  page.on('crash', () => state.problems.push('page crashed'));
  return { page, state };
}

async function visit(tab, file) {
  const problems = [];
  tab.state.problems = problems;
  tab.state.blocked = new Set();
  const t0 = Date.now();
  try {
    const res = await tab.page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    if (res && res.status() >= 400) problems.push(`HTTP ${res.status()} for the page itself`);
    // Let fonts and late console messages settle.
    await tab.page.evaluate(() => (document.fonts ? document.fonts.ready.then(() => undefined) : undefined));
    await tab.page.waitForTimeout(20);
  } catch (e) {
    problems.push(`navigation failed: ${e.message.split('\n')[0]}`);
  }
  return { page: tab.page, problems, ms: Date.now() - t0 };
}

async function newContext(browser, opts) {
  const ctx = await browser.newContext({ deviceScaleFactor: 1, ...opts });
  ctx.setDefaultNavigationTimeout(NAV_TIMEOUT_MS);
  ctx.setDefaultTimeout(NAV_TIMEOUT_MS);
  return ctx;
}

const rel = (f) => path.relative(siteDir, f).split(path.sep).join('/');
let failed = 0; // pages that failed
let shotFailures = 0; // front-page screenshots that failed or could not be taken
const started = Date.now();
// Never let a hung browser eat the CI budget.
const watchdog = setTimeout(() => {
  console.error('browser-check: gave up after 15 minutes');
  process.exit(1);
}, 15 * 60 * 1000);
watchdog.unref();

const browser = await chromium.launch({
  executablePath,
  headless: true,
  timeout: 60_000,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});

try {
  console.log(`browser-check: Chromium ${browser.version()}, ${files.length} page(s) under ${siteDir}`);
  const desktop = await newContext(browser, { viewport: DESKTOP, colorScheme: 'light' });
  const phone = await newContext(browser, { viewport: PHONE, isMobile: true, hasTouch: true, colorScheme: 'light' });
  const desktopTab = await openTab(desktop);
  const phoneTab = await openTab(phone);

  for (const file of files) {
    const name = rel(file);
    const d = await visit(desktopTab, file);
    let info = null;
    if (!d.problems.some((p) => p.startsWith('navigation failed'))) {
      try {
        info = await d.page.evaluate(domChecks);
        d.problems.push(...info.problems);
      } catch (e) {
        d.problems.push(`DOM checks failed: ${e.message.split('\n')[0]}`);
      }
    }

    const p = await visit(phoneTab, file);
    let overflow = null;
    try {
      overflow = await p.page.evaluate(overflowCheck, PHONE.width);
      if (overflow.scrollWidth > PHONE.width + 1) {
        p.problems.push(`horizontal overflow at phone width: scrollWidth ${overflow.scrollWidth} > ${PHONE.width}` +
          (overflow.culprits.length ? ` (wide: ${overflow.culprits.join(', ')})` : '') +
          (overflow.hasViewportMeta
            ? ''
            : '; no <meta name="viewport" content="width=device-width, initial-scale=1">, so phones lay the page out 980px wide'));
      }
    } catch (e) {
      p.problems.push(`overflow check failed: ${e.message.split('\n')[0]}`);
    }

    // Phone-context load problems repeat the desktop ones; keep only new ones.
    const problems = [...new Set([...d.problems, ...p.problems])];
    const stats = info
      ? `h1=${info.h1} svg=${info.svgs} img=${info.imgs} math=${info.maths} phoneWidth=${overflow ? overflow.scrollWidth : '?'} ` +
        `${d.ms}ms title="${info.title.slice(0, 60)}"`
      : `${d.ms}ms`;
    if (problems.length === 0) {
      console.log(`ok    ${name}  ${stats}`);
    } else {
      failed++;
      console.log(`FAIL  ${name}  ${stats}`);
      for (const pr of problems) console.log(`        - ${pr}`);
    }
  }
  await desktop.close();
  await phone.close();

  // Charts: inside each SVG no two texts overlap and none leaves the
  // viewBox; on every page, at both widths, the smallest chart text is
  // shown at 12 CSS px or more (font size x shown width / drawn width).
  const chartDir = path.join(siteDir, 'charts');
  const minFont = new Map();
  if (existsSync(chartDir)) {
    const ctx = await newContext(browser, { viewport: DESKTOP, colorScheme: 'light' });
    const tab = await openTab(ctx);
    for (const f of readdirSync(chartDir).filter((n) => n.endsWith('.svg')).sort()) {
      const file = path.join(chartDir, f);
      const { page } = await visit(tab, file);
      const r = await page.evaluate(() => {
        const svg = document.documentElement;
        const vb = svg.viewBox.baseVal;
        const texts = [...document.querySelectorAll('text')].filter((t) => t.textContent.trim());
        // Client rectangles include rotation (the y-axis title), unlike getBBox.
        const root = svg.getBoundingClientRect();
        const k = vb.width / root.width;
        const boxes = texts.map((t) => {
          const b = t.getBoundingClientRect();
          return { s: t.textContent.trim(), x0: vb.x + (b.left - root.left) * k, y0: vb.y + (b.top - root.top) * k,
            x1: vb.x + (b.right - root.left) * k, y1: vb.y + (b.bottom - root.top) * k,
            size: parseFloat(getComputedStyle(t).fontSize) };
        });
        const problems = [];
        for (const b of boxes) {
          if (b.x0 < vb.x - 0.5 || b.y0 < vb.y - 0.5 || b.x1 > vb.x + vb.width + 0.5 || b.y1 > vb.y + vb.height + 0.5) {
            problems.push(`"${b.s}" is outside the viewBox`);
          }
        }
        // Glyph boxes include line spacing; shrink them a little before comparing.
        const pad = 1.5;
        for (let i = 0; i < boxes.length; i++) {
          for (let j = i + 1; j < boxes.length; j++) {
            const a = boxes[i], b = boxes[j];
            if (a.x0 + pad < b.x1 - pad && b.x0 + pad < a.x1 - pad && a.y0 + pad < b.y1 - pad && b.y0 + pad < a.y1 - pad) {
              problems.push(`"${a.s}" overlaps "${b.s}"`);
            }
          }
        }
        return { problems: problems.slice(0, 5), min: Math.min(...boxes.map((b) => b.size)), width: vb.width };
      });
      minFont.set(f, r);
      if (r.problems.length) {
        shotFailures++;
        console.log(`FAIL  chart ${f}`);
        for (const pr of r.problems) console.log(`        - ${pr}`);
      }
    }
    await ctx.close();
    for (const [label, opts] of [['desktop', { viewport: DESKTOP, colorScheme: 'light' }],
      ['phone', { viewport: PHONE, isMobile: true, hasTouch: true, colorScheme: 'light' }]]) {
      const c = await newContext(browser, opts);
      const tab2 = await openTab(c);
      let shown = 0;
      for (const file of files) {
        const { page } = await visit(tab2, file);
        const imgs = await page.evaluate(() => [...document.querySelectorAll('figure.chart img')].map((i) => ({
          src: decodeURIComponent((i.currentSrc || i.src).split('/').pop()), width: i.getBoundingClientRect().width })));
        for (const im of imgs) {
          const info = minFont.get(im.src);
          if (!info) continue;
          shown++;
          const px = info.min * im.width / info.width;
          if (px < 12) {
            shotFailures++;
            console.log(`FAIL  ${label} ${rel(file)}: chart ${im.src} shows text at ${px.toFixed(1)} px (< 12)`);
          }
        }
      }
      console.log(`charts ${label}: ${shown} chart(s) on pages checked for text of 12 CSS px or more`);
      await c.close();
    }
    console.log(`charts: ${minFont.size} SVG file(s) checked for overlapping and clipped text`);
  }

  // Accessibility with axe-core (offline): every page, light and dark.
  const axePath = path.join(nodeDir, 'node_modules', 'axe-core', 'axe.min.js');
  if (!existsSync(axePath)) {
    shotFailures++;
    console.log(`FAIL  axe-core missing at ${axePath}`);
  } else {
    for (const scheme of ['light', 'dark']) {
      const ctx = await newContext(browser, { viewport: DESKTOP, colorScheme: scheme });
      const tab = await openTab(ctx);
      let pages = 0;
      for (const file of files) {
        const { page } = await visit(tab, file);
        await page.addScriptTag({ path: axePath });
        const found = await page.evaluate(async () => {
          const r = await window.axe.run(document, {
            runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
            resultTypes: ['violations'],
          });
          return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.length} node(s), e.g. ${v.nodes[0].target.join(' ')}` +
            (v.nodes[0].any[0] ? ` - ${v.nodes[0].any[0].message}` : ''));
        });
        pages++;
        if (found.length) {
          shotFailures++;
          console.log(`FAIL  axe ${scheme}  ${rel(file)}`);
          for (const f of found) console.log(`        - ${f}`);
        }
      }
      console.log(`axe   ${scheme}: ${pages} page(s) checked (WCAG 2.1 A and AA, contrast included)`);
      await ctx.close();
    }
  }

  // Reader interactions, from file:// as a reader opens a downloaded site.
  const interactions = await (async () => {
    const problems = [];
    const index = path.join(siteDir, 'index.html');
    if (!existsSync(index)) return ['index.html missing'];
    // Search: `/` focuses the box; "fc6" finds VGG's layer with a snippet.
    const dctx = await newContext(browser, { viewport: DESKTOP, colorScheme: 'light' });
    const { page: d } = await visit(await openTab(dctx), index);
    // The answer comes first: the index's opening paragraph ends within the
    // first screen, on a desktop here and on a phone below.
    const firstScreen = async (pg, where) => {
      const lead = await pg.evaluate(() => {
        const p = document.querySelector('article > p');
        return p ? { bottom: p.getBoundingClientRect().bottom, text: p.textContent, screen: innerHeight, title: document.title } : null;
      });
      if (!lead) problems.push(`${where}: the index has no opening paragraph`);
      // The default course answers its student there: parameters, concatenation, FLOPs.
      else if (/fewer parameters than VGG-19/.test(lead.title) && !['parameters', 'concatenate', 'FLOPs'].every((w) => lead.text.includes(w)))
        problems.push(`${where}: the index's opening paragraph does not give the verdict: "${lead.text.slice(0, 80)}..."`);
      else if (lead.bottom > lead.screen) problems.push(`${where}: the index's opening paragraph ("${lead.text.slice(0, 40)}...") ends at ${Math.round(lead.bottom)}px, below the first screen (${lead.screen}px)`);
    };
    await firstScreen(d, 'desktop');
    await d.keyboard.press('/');
    const focused = await d.evaluate(() => document.activeElement && document.activeElement.id);
    if (focused !== 'search') problems.push(`"/" should focus the search box, focused: ${focused}`);
    await d.keyboard.type('fc6');
    const results = await d.$$eval('#search-results li a', (as) => as.map((a) => [a.textContent, a.getAttribute('href')]));
    const snippets = await d.$$eval('#search-results li p', (ps) => ps.map((p) => p.textContent));
    if (!results.length) problems.push('search for "fc6" found nothing');
    else if (!results.some(([, href]) => /model-vgg/.test(href))) problems.push(`search for "fc6" did not find a VGG model page: ${JSON.stringify(results)}`);
    if (!snippets.some((s) => /fc6/i.test(s))) problems.push('search results show no snippet with "fc6"');
    // Theme: the button cycles auto -> light -> dark and is remembered.
    await d.click('#theme');
    await d.click('#theme');
    const theme = await d.evaluate(() => document.documentElement.getAttribute('data-theme'));
    if (theme !== 'dark') problems.push(`two clicks on the theme button should give dark, got ${theme}`);
    const { page: d2 } = await visit(await openTab(dctx), index);
    const kept = await d2.evaluate(() => document.documentElement.getAttribute('data-theme'));
    if (kept !== 'dark') problems.push(`the theme was not remembered across pages: ${kept}`);
    const bg = await d2.evaluate(() => getComputedStyle(document.body).backgroundColor);
    if (bg !== 'rgb(21, 23, 27)') problems.push(`dark theme background is ${bg}`);
    await dctx.close();
    // Phone: the menu is at the top, closed, and opens without script.
    const pctx = await newContext(browser, { viewport: PHONE, isMobile: true, hasTouch: true, colorScheme: 'light', javaScriptEnabled: false });
    const { page: ph } = await visit(await openTab(pctx), index);
    const menu = await ph.evaluate(() => {
      const m = document.querySelector('details.menu');
      if (!m) return null;
      const r = m.getBoundingClientRect();
      return { top: r.top, shown: getComputedStyle(m).display !== 'none', open: m.open };
    });
    await firstScreen(ph, 'phone');
    if (!menu || !menu.shown) problems.push('phone: no menu shown');
    else {
      if (menu.top > 200) problems.push(`phone: the menu is ${menu.top}px down, not at the top`);
      await ph.click('details.menu summary');
      const links = await ph.$$eval('details.menu nav a', (as) => as.filter((a) => a.getBoundingClientRect().height > 0).length);
      if (links < 3) problems.push(`phone: the opened menu shows ${links} links`);
    }
    await pctx.close();
    return problems;
  })();
  if (interactions.length) {
    shotFailures += interactions.length;
    for (const pr of interactions) console.log(`FAIL  interaction: ${pr}`);
  } else {
    console.log('ok    interactions: "/" focuses search, "fc6" finds VGG with a snippet, theme toggle remembered, phone menu at the top without script');
  }

  // Screenshots of the front page.
  const index = path.join(siteDir, 'index.html');
  if (!existsSync(index)) {
    shotFailures++;
    console.log('FAIL  index.html  missing: the site needs a front page');
  } else {
    mkdirSync(shotDir, { recursive: true });
    // The front page, the first chapter and the first model page, at both
    // widths in both themes.
    const names = readdirSync(siteDir).sort();
    const chapter = names.find((n) => /^0?1-.*\.html$/.test(n)) || names.find((n) => n.endsWith('.html') && n !== 'index.html' && !n.startsWith('model-'));
    const model = names.find((n) => n.startsWith('model-') && n.endsWith('.html'));
    const targets = [['index', index]];
    if (chapter) targets.push(['chapter', path.join(siteDir, chapter)]);
    if (model) targets.push(['model', path.join(siteDir, model)]);
    const shots = [];
    for (const [label, file] of targets) {
      for (const scheme of ['light', 'dark']) {
        const suffix = scheme === 'dark' ? '-dark' : '';
        shots.push([`${label}-desktop${suffix}.png`, file, { viewport: DESKTOP, colorScheme: scheme }]);
        shots.push([`${label}-phone${suffix}.png`, file, { viewport: PHONE, isMobile: true, hasTouch: true, colorScheme: scheme }]);
      }
    }
    for (const [fname, file, opts] of shots) {
      const ctx = await newContext(browser, opts);
      const { page, problems } = await visit(await openTab(ctx), file);
      const out = path.join(shotDir, fname);
      await page.screenshot({ path: out, fullPage: true });
      await ctx.close();
      if (problems.length) {
        shotFailures++;
        console.log(`FAIL  screenshot ${fname}: ${problems.join('; ')}`);
      } else {
        console.log(`shot  ${path.relative(process.cwd(), out) || out}`);
      }
    }
  }
} finally {
  await browser.close();
}

const secs = ((Date.now() - started) / 1000).toFixed(1);
if (failed || shotFailures) {
  console.log(`browser-check: ${failed} of ${files.length} page(s) failed` +
    (shotFailures ? `, ${shotFailures} front-page problem(s)` : '') + ` (${secs}s)`);
  process.exit(1);
}
console.log(`browser-check: all ${files.length} page(s) passed (${secs}s)`);
