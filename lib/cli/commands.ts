/** Every command of `lup`; importing a command file registers it. */
import './validate-command';
import './inspect-command';
import './publish-command';
import './local-command';
