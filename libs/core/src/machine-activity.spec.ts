import { machineReason, SCANNER_CLICK_WINDOW_MS, SCANNER_USER_AGENTS, TrackingHit } from './machine-activity';

const SENT = new Date('2024-05-01T09:00:00.000Z');
const later = (ms: number) => new Date(SENT.getTime() + ms);
const HOUR = 3_600_000;

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0';
const OUTLOOK_IMAGES = 'Mozilla/4.0 (compatible; ms-office; MSOffice 16)';
const OUTLOOK = 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17531; Pro)';
const THUNDERBIRD = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.10.1';
const IPHONE_SAFARI =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';
const CUBOT_CHROME =
  'Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/96.0.4664.104 Mobile Safari/537.36';

const hit = (over: Partial<TrackingHit> = {}): TrackingHit => ({
  kind: 'open',
  userAgent: CHROME,
  ip: '203.0.113.7',
  at: later(HOUR),
  sentAt: SENT,
  ...over,
});

describe('machineReason', () => {
  it.each([
    ['Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)', 'gmail-proxy'],
    ['Mozilla/5.0 (via ggpht.com)', 'gmail-proxy'],
    ['googleimageproxy', 'gmail-proxy'],
    ['YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html', 'yahoo-proxy'],
    ['Mozilla/5.0', 'apple-mpp'],
    [' Mozilla/5.0 ', 'apple-mpp'],
    ['Barracuda Sentinel (EE)', 'scanner'],
    ['Mozilla/5.0 (compatible; MSIE 9.0) Mimecast', 'scanner'],
    ['Proofpoint URL Defense', 'scanner'],
    ['Symantec Web Security', 'scanner'],
    ['Trend Micro Email Security', 'scanner'],
    ['TrendMicro-Scanner/1.0', 'scanner'],
    ['Forcepoint Email Security', 'scanner'],
    ['Microsoft SafeLinks', 'scanner'],
    ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'bot'],
    ['Mozilla/5.0 (compatible; SomeCrawler/1.0)', 'bot'],
    ['Baiduspider', 'bot'],
    ['curl/8.4.0', 'bot'],
    ['Wget/1.21.4', 'bot'],
    ['python-requests/2.31.0', 'bot'],
    ['Go-http-client/1.1', 'bot'],
    [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36',
      'bot',
    ],
    ['node-fetch/1.0 (+https://github.com/bitinn/node-fetch)', 'bot'],
    ['axios/1.6.8', 'bot'],
    ['libwww-perl/6.72', 'bot'],
    ['Java/17.0.2', 'bot'],
  ])('flags %j as %s', (userAgent, reason) => {
    expect(machineReason(hit({ userAgent }))).toBe(reason);
    expect(machineReason(hit({ userAgent, kind: 'click' }))).toBe(reason);
  });

  it.each([CHROME, FIREFOX, OUTLOOK_IMAGES, OUTLOOK, THUNDERBIRD, IPHONE_SAFARI, CUBOT_CHROME])(
    'leaves an ordinary client alone: %s',
    (userAgent) => {
      expect(machineReason(hit({ userAgent }))).toBeNull();
      expect(machineReason(hit({ userAgent, kind: 'click' }))).toBeNull();
    },
  );

  it('flags a missing or blank user agent', () => {
    expect(machineReason(hit({ userAgent: null }))).toBe('no-user-agent');
    expect(machineReason(hit({ userAgent: '' }))).toBe('no-user-agent');
    expect(machineReason(hit({ userAgent: '   \t' }))).toBe('no-user-agent');
    expect(machineReason(hit({ userAgent: undefined as unknown as string }))).toBe('no-user-agent');
  });

  describe("Apple's network, 17.0.0.0/8", () => {
    it.each([
      '17.0.0.0',
      '17.1.2.3',
      '17.255.255.255',
      '::ffff:17.1.2.3',
      '::FFFF:17.58.1.9',
      '0:0:0:0:0:ffff:17.1.2.3',
      '::ffff:1101:203',
      ' 17.1.2.3 ',
    ])('flags %s', (ip) => {
      expect(machineReason(hit({ ip }))).toBe('apple-mpp');
    });

    it.each([
      '16.255.255.255',
      '18.0.0.0',
      '::ffff:18.0.0.0',
      '::ffff:1001:203',
      '117.1.2.3',
      '170.1.2.3',
      '2001:db8::17',
      '17.1.2',
      '17.1.2.3.4',
      '17.256.0.0',
      '::17.1.2.3',
    ])('does not flag %s', (ip) => {
      expect(machineReason(hit({ ip }))).toBeNull();
    });
  });

  it('checks the proxies first, then scanners, bots, a missing user agent and timing', () => {
    const early = { kind: 'click' as const, at: later(1000) };
    expect(machineReason(hit({ ...early, userAgent: 'GoogleImageProxy bot', ip: '17.1.2.3' }))).toBe('gmail-proxy');
    expect(machineReason(hit({ ...early, userAgent: 'YahooMailProxy bot', ip: '17.1.2.3' }))).toBe('yahoo-proxy');
    expect(machineReason(hit({ ...early, userAgent: 'Mimecast bot', ip: '17.1.2.3' }))).toBe('apple-mpp');
    expect(machineReason(hit({ ...early, userAgent: 'Mimecast bot' }))).toBe('scanner');
    expect(machineReason(hit({ ...early, userAgent: 'curl/8.4.0' }))).toBe('bot');
    expect(machineReason(hit({ ...early, userAgent: null }))).toBe('no-user-agent');
    expect(machineReason(hit({ ...early }))).toBe('scanner-timing');
  });

  describe('click timing', () => {
    const click = (ms: number, over: Partial<TrackingHit> = {}) =>
      machineReason(hit({ kind: 'click', at: later(ms), ...over }));

    it('flags a click within 10 s of the send, both ends included', () => {
      expect(SCANNER_CLICK_WINDOW_MS).toBe(10_000);
      expect(click(0)).toBe('scanner-timing');
      expect(click(2_500)).toBe('scanner-timing');
      expect(click(10_000)).toBe('scanner-timing');
    });

    it('leaves a later click, an earlier one (clock skew) and one without a send time alone', () => {
      expect(click(10_001)).toBeNull();
      expect(click(11_000)).toBeNull();
      expect(click(-1)).toBeNull();
      expect(click(1_000, { sentAt: null })).toBeNull();
    });

    it('never judges an open by timing', () => {
      expect(machineReason(hit({ kind: 'open', at: later(1_000) }))).toBeNull();
    });

    it('takes another window', () => {
      expect(click(20_000)).toBeNull();
      expect(machineReason(hit({ kind: 'click', at: later(20_000) }), { scannerWindowMs: 30_000 })).toBe(
        'scanner-timing',
      );
      expect(machineReason(hit({ kind: 'click', at: later(1) }), { scannerWindowMs: 0 })).toBeNull();
      expect(machineReason(hit({ kind: 'click', at: later(0) }), { scannerWindowMs: 0 })).toBe('scanner-timing');
      // nonsense falls back to the default
      expect(machineReason(hit({ kind: 'click', at: later(5_000) }), { scannerWindowMs: -1 })).toBe('scanner-timing');
      expect(machineReason(hit({ kind: 'click', at: later(5_000) }), { scannerWindowMs: NaN })).toBe('scanner-timing');
      expect(machineReason(hit({ kind: 'click', at: later(5_000) }), {})).toBe('scanner-timing');
    });
  });

  it('looks at the first 1000 characters of the user agent only', () => {
    expect(machineReason(hit({ userAgent: `${CHROME}${' x'.repeat(500)} curl/8.4.0` }))).toBeNull();
    expect(machineReason(hit({ userAgent: `${'a'.repeat(996)}curl/8.4.0` }))).toBeNull();
    expect(machineReason(hit({ userAgent: `${'a'.repeat(995)}curl/8.4.0` }))).toBe('bot');
    expect(machineReason(hit({ userAgent: `${CHROME}${'x'.repeat(5_000_000)}` }))).toBeNull();
  });

  it('lists every scanner in lower case, so that matching ignores case', () => {
    for (const word of SCANNER_USER_AGENTS) expect(word).toBe(word.toLowerCase());
    expect(machineReason(hit({ userAgent: 'BARRACUDA' }))).toBe('scanner');
  });

  it('never throws on odd input', () => {
    const odd: unknown[] = [
      hit({ ip: 'not an ip' }),
      hit({ ip: '999.999.999.999' }),
      hit({ ip: ':'.repeat(10_000) }),
      hit({ ip: '::ffff:' }),
      hit({ ip: 17 as unknown as string }),
      hit({ kind: 'click', at: new Date(NaN) }),
      hit({ kind: 'click', sentAt: new Date(NaN) }),
      hit({ kind: 'click', at: '2024-05-01' as unknown as Date }),
      hit({ kind: 'weird' as TrackingHit['kind'] }),
      hit({ userAgent: 42 as unknown as string }),
      {},
      null,
      undefined,
    ];
    for (const h of odd) expect(() => machineReason(h as TrackingHit)).not.toThrow();
    expect(machineReason(hit({ ip: '999.999.999.999' }))).toBeNull();
    expect(machineReason(hit({ userAgent: 42 as unknown as string }))).toBe('no-user-agent');
  });
});
