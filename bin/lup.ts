console.log('lup');
