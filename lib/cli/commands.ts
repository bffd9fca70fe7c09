/** Every command of `lup`; importing a command file registers it. */
import './validate-command';
import './inspect-command';
import './publish-command';
import './local-command';
import './status-command';
import './uploads-command';
import './releases-command';
import './promote-command';
import './rollout-command';
import './rollback-command';
import './gc-command';
import './verify-command';
import './console-command';
