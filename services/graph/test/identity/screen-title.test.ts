import { skipWithoutSharedData } from '@screengraph/testing';
import t from 'tap';
import { screenTitle } from '../../src/identity/screen-title.js';
import { readUiautomatorXml } from '../../src/identity/uiautomator-xml.js';
import { uiautomatorDumps } from './real-data.js';

const noData = skipWithoutSharedData();

/** A uiautomator dump of one screen holding `nodes`. */
const dump = (...nodes: string[]) =>
  readUiautomatorXml(`<?xml version="1.0"?><hierarchy rotation="0">
    <node class="android.widget.FrameLayout" package="com.example" bounds="[0,0][1080,2400]">${nodes.join('')}</node>
  </hierarchy>`);
const text = (value: string, bounds: string, extra = '') =>
  `<node class="android.widget.TextView" package="com.example" text="${value}" bounds="${bounds}" ${extra}/>`;

t.test('the title is the text the app names as such, else the tallest one-line label', async (t) => {
  const heading = text('Order history', '[40,300][1040,380]');
  const body = text('Your orders of the last 90 days', '[40,400][1040,450]');
  const button = text('CONTINUE SHOPPING', '[40,2200][1040,2380]', 'clickable="true"');
  t.equal(screenTitle(dump(body, heading, button)), 'Order history', 'the tallest label, not the taller button');
  t.equal(
    screenTitle(
      dump(
        heading,
        `<node class="androidx.appcompat.widget.Toolbar" package="com.example" bounds="[0,60][1080,200]">
          ${text('Orders', '[40,100][400,160]')}${text('EDIT', '[900,100][1040,160]', 'clickable="true"')}
        </node>`,
      ),
    ),
    'Orders',
    'a toolbar text wins',
  );
  t.equal(
    screenTitle(dump(body, text('Settings', '[40,100][400,140]', 'resource-id="com.example:id/title"'))),
    'Settings',
    'a view named title wins',
  );
  t.equal(
    screenTitle(
      dump(
        text('42', '[40,100][1040,600]'),
        `<node class="android.widget.EditText" package="com.example" text="typed by the agent" bounds="[40,700][1040,900]"/>`,
        text('A very long paragraph of text that is content and not what the screen is called', '[40,1000][1040,1400]'),
        body,
      ),
    ),
    'Your orders of the last 90 days',
    'numbers, typed text and paragraphs are not titles',
  );
  t.equal(screenTitle(dump(button)), 'CONTINUE SHOPPING', 'a button’s text when nothing else has text');
  t.equal(screenTitle(dump('<node class="android.view.View" package="com.example" bounds="[0,0][10,10]"/>')), null);
});

t.test('on real dumps: the screen’s own heading', { skip: noData }, async (t) => {
  const titles = new Map(uiautomatorDumps().map(({ file, xml }) => [file, screenTitle(readUiautomatorXml(xml))]));
  t.equal(titles.get('1664063494_phone_LanguageActivity.xml'), 'Select language');
  t.equal(titles.get('1664063753_phone_StatActivity.xml'), 'Statistics');
  t.equal(titles.get('1663807885_phone_GDPRAdDataSettingActivity.xml'), 'Advertisement data setting');
  const named = [...titles.values()].filter((title) => title !== null).length;
  t.ok(named / titles.size > 0.9, `${named} of ${titles.size} dumps have a title`);
});
