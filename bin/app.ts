import { App } from 'aws-cdk-lib';
import { OnceflowStack } from '../lib/onceflow-stack.js';

const app = new App();
new OnceflowStack(app, 'Onceflow');
