import { ConfigError } from './errors';
import { DEFAULT_START_WORDS, DEFAULT_STOP_WORDS, parseKeywordList, smsIntent } from './sms-keywords';

describe('smsIntent', () => {
  it.each(DEFAULT_STOP_WORDS)('stops on %s', (word) => {
    expect(smsIntent(word)).toBe('stop');
    expect(smsIntent(word.toLowerCase())).toBe('stop');
  });

  it.each(DEFAULT_START_WORDS)('starts on %s', (word) => {
    expect(smsIntent(word)).toBe('start');
    expect(smsIntent(word.toLowerCase())).toBe('start');
  });

  it.each([
    'stop',
    'Stop',
    ' Stop! ',
    'STOP.',
    'stop!!!',
    'stop. ',
    '"stop"',
    "'Stop'",
    '“STOP”',
    '«stop»',
    '"stop."',
    '"stop".',
    '\tstop\n',
    'ＳＴＯＰ', // full-width, NFKC
    'ｓｔｏｐ！',
    'stop\u200b', // zero-width space
    '\ufeffstop', // byte order mark
    'st\u200dop', // zero-width joiner inside
  ])('reads %j as stop', (text) => {
    expect(smsIntent(text)).toBe('stop');
  });

  it.each([
    'stop by the shop',
    'please stop',
    'stop please',
    'stop all',
    'st op',
    'stop?',
    '¿stop',
    '!stop',
    'stopp',
    'S.T.O.P',
    'STОP', // Cyrillic О
    'yes',
    'unstoppable',
    '',
    '   ',
    '"".!',
    '!',
    `stop${' '.repeat(500)}`,
  ])('reads %j as a reply', (text) => {
    expect(smsIntent(text)).toBe('reply');
  });

  it('reads " Start. " as start', () => {
    expect(smsIntent(' Start. ')).toBe('start');
    expect(smsIntent('unstop!')).toBe('start');
  });

  it('uses the configured words instead of the defaults', () => {
    const words = { stop: ['ARRET', 'HALT'], start: ['ARRIBA'] };
    expect(smsIntent('arrêt', words)).toBe('reply'); // the list says ARRET, not ARRÊT
    expect(smsIntent('Arret!', words)).toBe('stop');
    expect(smsIntent('halt', words)).toBe('stop');
    expect(smsIntent('arriba', words)).toBe('start');
    expect(smsIntent('stop', words)).toBe('reply');
    expect(smsIntent('start', words)).toBe('reply');
  });

  it('matches configured words whatever their case', () => {
    expect(smsIntent('HALT', { stop: ['halt'], start: [] })).toBe('stop');
  });

  it('prefers stop when a word is on both lists', () => {
    expect(smsIntent('toggle', { stop: ['TOGGLE'], start: ['TOGGLE'] })).toBe('stop');
  });

  it('never throws on odd input', () => {
    expect(smsIntent(undefined as unknown as string)).toBe('reply');
    expect(smsIntent(null as unknown as string)).toBe('reply');
    expect(smsIntent(42 as unknown as string)).toBe('reply');
    expect(smsIntent('x'.repeat(1_000_000))).toBe('reply');
    expect(
      smsIntent('stop', { stop: undefined, start: undefined } as unknown as { stop: string[]; start: string[] }),
    ).toBe('reply');
    expect(smsIntent('stop', null as unknown as { stop: string[]; start: string[] })).toBe('reply');
    expect(
      smsIntent('stop', { stop: [null, 'STOP'], start: [] } as unknown as { stop: string[]; start: string[] }),
    ).toBe('stop');
  });
});

describe('parseKeywordList', () => {
  it('reads comma-separated words, trimmed and upper-cased, without duplicates', () => {
    expect(parseKeywordList('STOP', 'SMS_STOP_WORDS')).toEqual(['STOP']);
    expect(parseKeywordList(' stop , Arret,HALT ', 'SMS_STOP_WORDS')).toEqual(['STOP', 'ARRET', 'HALT']);
    expect(parseKeywordList('stop,STOP, Stop,end', 'SMS_STOP_WORDS')).toEqual(['STOP', 'END']);
    expect(parseKeywordList('OK,STOP2,12345678901234567890', 'SMS_STOP_WORDS')).toEqual([
      'OK',
      'STOP2',
      '12345678901234567890',
    ]);
  });

  it.each([
    '',
    '   ',
    ',',
    'STOP,',
    'STOP,,END',
    'S',
    'STOP,X',
    '123456789012345678901',
    'STOP ALL',
    'OPT-OUT',
    'STOP;END',
    'ARRÊT',
    'STOP!',
  ])('refuses %j', (raw) => {
    expect(() => parseKeywordList(raw, 'SMS_STOP_WORDS')).toThrow(ConfigError);
  });

  it('names the variable in the error', () => {
    let error: unknown;
    try {
      parseKeywordList('STOP,OPT-OUT', 'SMS_STOP_WORDS');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe('SMS_STOP_WORDS');
    expect((error as ConfigError).message).toBe(
      'Invalid configuration: SMS_STOP_WORDS must be comma-separated words of 2-20 letters or digits',
    );
  });

  it('parses the defaults back to themselves', () => {
    expect(parseKeywordList(DEFAULT_STOP_WORDS.join(','), 'SMS_STOP_WORDS')).toEqual(DEFAULT_STOP_WORDS);
    expect(parseKeywordList(DEFAULT_START_WORDS.join(','), 'SMS_START_WORDS')).toEqual(DEFAULT_START_WORDS);
  });
});
